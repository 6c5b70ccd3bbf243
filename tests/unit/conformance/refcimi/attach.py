"""The reference CIMI server's MachineVolume sub-collection (attach and detach)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from unit.conformance.refcimi import render
from unit.conformance.refcimi.app import BASE, JSON, HttpError, now
from unit.conformance.refcimi.handlers import body, local
from webob import Request, Response

if TYPE_CHECKING:
    from unit.conformance.refcimi.app import RefCimi


def attachments(
    app: RefCimi, request: Request, user: str, media: str, machine: str, rest: list[str]
) -> Response:
    if machine not in app.items or not app.visible(machine, user):
        raise HttpError(404, "no such machine")
    prefix = f"{machine}/volumes"
    if not rest:
        if request.method == "POST":
            data = body(app, request, "MachineVolume")
            volume = (data.get("volume") or {}).get("href", "")
            if local(volume) not in app.items or not app.visible(local(volume), user):
                raise HttpError(400, "volume does not name a Volume of yours")
            path = f"{prefix}/{app.ids.__next__()}"
            app.items[path] = {
                "id": path,
                "created": now(),
                "initialLocation": data.get("initialLocation", "/dev/vdb"),
                "volume": {"href": local(volume)},
            }
            app.meta[path] = {"owner": user, "type": "MachineVolume"}
            response = app.send(
                media, "MachineVolume", app.items[path], 201, [{"rel": "delete", "href": path}]
            )
            response.headers["Location"] = request.host_url + BASE + path
            return response
        entries = [
            {**app.items[p], "operations": [{"rel": "delete", "href": p}]}
            for p in app.items
            if p.startswith(prefix + "/")
        ]
        maker = render.collection_json if media == JSON else render.collection_xml
        return Response(
            maker(app.ns, "MachineVolume", prefix, entries, [{"rel": "add", "href": prefix}]),
            content_type=media,
        )
    path = f"{prefix}/{rest[0]}"
    if path not in app.items:
        raise HttpError(404, "no such attachment")
    if request.method == "DELETE":
        app.items.pop(path)
        return Response(status=200)
    return app.send(media, "MachineVolume", app.items[path], 200, [{"rel": "delete", "href": path}])

"""The reference CIMI server's handlers: the CEP, collections, resources, actions, jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from unit.conformance.refcimi import render
from unit.conformance.refcimi.app import (
    BASE,
    COLLECTIONS,
    CREATABLE,
    JSON,
    MOVES,
    XML,
    HttpError,
    now,
)
from webob import Request, Response

if TYPE_CHECKING:
    from unit.conformance.refcimi.app import RefCimi


def local(href: str) -> str:
    """The path under /api/ an href (absolute or relative) names."""
    path = urlsplit(href).path
    return path[len(BASE) :] if path.startswith(BASE) else path.lstrip("/")


def body(app: RefCimi, request: Request, expected: str) -> dict[str, Any]:
    media = (request.content_type or "").lower()
    if media not in (JSON, XML):
        raise HttpError(415, "JSON or XML bodies only")
    try:
        root, data = render.parse(media, request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"malformed body: {exc}") from exc
    if root not in (None, expected):
        raise HttpError(400, f"expected a {expected}, got {root}")
    return data


def route(app: RefCimi, request: Request, user: str, media: str) -> Response:
    path = request.path_info
    if not path.startswith(BASE):
        raise HttpError(404, "not here")
    rest = path[len(BASE) :]
    if rest == "cep" and request.method == "GET":
        return cep(app, request, media)
    parts = rest.split("/")
    if len(parts) == 1 and parts[0] in COLLECTIONS:
        return collection(app, request, user, media, parts[0])
    if len(parts) >= 3 and parts[0] == "machines" and parts[2] == "volumes":
        from unit.conformance.refcimi.attach import attachments

        return attachments(app, request, user, media, "/".join(parts[:2]), parts[3:])
    target = "/".join(parts[:2])
    if target not in app.items or not app.visible(target, user):
        raise HttpError(404, f"no resource at {rest}")
    if len(parts) == 3 and parts[2] == "actions" and request.method == "POST":
        return action(app, request, user, media, target)
    if len(parts) != 2:
        raise HttpError(404, f"no resource at {rest}")
    return resource(app, request, user, media, target)


def cep(app: RefCimi, request: Request, media: str) -> Response:
    data: dict[str, Any] = {
        "id": request.host_url + BASE + "cep",
        "name": "reference",
        "created": "2024-01-01T00:00:00Z",
        "baseURI": request.host_url + BASE,
    }
    for path, (key, _) in COLLECTIONS.items():
        data[key] = {"href": path}
    return app.send(media, "CloudEntryPoint", data)


def collection(app: RefCimi, request: Request, user: str, media: str, name: str) -> Response:
    type_name = COLLECTIONS[name][1]
    if request.method == "POST" and name in CREATABLE:
        return create(app, request, user, media, name)
    if request.method != "GET":
        raise HttpError(405, "GET only")
    paths = [
        p
        for p in app.items
        if p.startswith(name + "/") and p.count("/") == 1 and app.visible(p, user)
    ]
    entries = app.filtered(
        [{**app.items[p], "operations": app.operations(p)} for p in paths], request
    )
    operations = [{"rel": "add", "href": name}] if name in CREATABLE else []
    maker = render.collection_json if media == JSON else render.collection_xml
    return Response(maker(app.ns, type_name, name, entries, operations), content_type=media)


def create(app: RefCimi, request: Request, user: str, media: str, name: str) -> Response:
    create_type, template_key, final = CREATABLE[name]
    data = body(app, request, create_type)
    template = data.get(template_key)
    if not isinstance(template, dict):
        raise HttpError(400, f"{template_key} is required")
    refs = {}
    for ref_name, ref in template.items():
        href = ref.get("href") if isinstance(ref, dict) else None
        if not href or local(href) not in app.items:
            raise HttpError(400, f"{ref_name} does not name a resource")
        refs[ref_name] = app.items[local(href)]
    path = f"{name}/{next(app.ids)}"
    resource: dict[str, Any] = {
        "name": data.get("name"),
        "description": data.get("description"),
        "created": now(),
        "updated": now(),
    }
    if data.get("properties"):
        resource["properties"] = data["properties"]
    if name == "machines":
        config = refs.get("machineConfig", {})
        resource.update(
            cpu=config.get("cpu", 1),
            memory=config.get("memory", 1048576),
            volumes={"href": f"{path}/volumes"},
        )
    elif name == "volumes":
        config = refs.get("volumeConfig", {})
        resource.update(
            type=f"{app.ns}/mapped", capacity=config.get("capacity", 1048576), bootable=False
        )
    else:
        config = refs.get("networkConfig", {})
        resource.update(
            networkType=config.get("networkType", "PRIVATE"), mtu=config.get("mtu", 1500)
        )
    resource["state"] = "CREATING" if app.async_reads else final
    app._store(path, user, resource)
    location = request.host_url + BASE + path
    if not app.async_reads:
        response = app.send(media, COLLECTIONS[name][1], app.items[path], 201, app.operations(path))
    else:
        job = app.new_job(user, path, "add", lambda: app.items[path].update(state=final))
        response = app.send(media, COLLECTIONS[name][1], app.items[path], 202, app.operations(path))
        response.headers["CIMI-Job-URI"] = request.host_url + BASE + job
    response.headers["Location"] = location
    return response


def resource(app: RefCimi, request: Request, user: str, media: str, path: str) -> Response:
    type_name = app.meta[path]["type"]
    if request.method == "GET":
        app.advance(path)
        if path not in app.items:
            raise HttpError(404, "gone")
        return app.send(media, type_name, app.items[path], 200, app.operations(path))
    if app.meta[path]["owner"] is None:
        raise HttpError(403, "provider resources are read-only")
    if request.method == "PUT":
        data = body(app, request, type_name)
        if isinstance(data.get("state"), str) and data["state"] != app.items[path].get("state"):
            raise HttpError(400, "state is read-only")
        for field in ("name", "description"):
            if isinstance(data.get(field), str):
                app.items[path][field] = data[field]
        app.items[path]["updated"] = now()
        return app.send(media, type_name, app.items[path], 200, app.operations(path))
    if request.method == "DELETE":

        def finish() -> None:
            app.items.pop(path, None)
            for attachment in [a for a in app.items if a.startswith(path + "/volumes/")]:
                app.items.pop(attachment)

        if not app.async_reads or "state" not in app.items[path]:
            finish()
            return Response(status=200)
        app.items[path]["state"] = "DELETING"
        job = app.new_job(user, path, "delete", finish)
        response = Response(status=202)
        response.headers["CIMI-Job-URI"] = request.host_url + BASE + job
        return response
    raise HttpError(405, "GET, PUT or DELETE")


def action(app: RefCimi, request: Request, user: str, media: str, path: str) -> Response:
    data = body(app, request, "Action")
    uri = str(data.get("action", ""))
    name = uri.rsplit("/", 1)[-1]
    allowed = {op["rel"] for op in app.operations(path)}
    if uri not in allowed:
        raise HttpError(
            409, f"{uri} is not possible now: the Machine is {app.items[path].get('state')}"
        )
    final = MOVES[(app.items[path]["state"], name)]
    if not app.async_reads:
        app.items[path]["state"] = final
        return app.send(media, app.meta[path]["type"], app.items[path], 200, app.operations(path))
    app.items[path]["state"] = "STOPPING" if final == "STOPPED" else "STARTING"
    job = app.new_job(user, path, uri, lambda: app.items[path].update(state=final))
    response = Response(status=202)
    response.headers["CIMI-Job-URI"] = request.host_url + BASE + job
    return response

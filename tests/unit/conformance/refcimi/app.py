"""The reference CIMI server: a small, correct WSGI app for the harness's tests.

Its URL layout is deliberately unlike Concord's (``/api/cep``, ``/api/machine-configs``,
relative hrefs resolved against ``baseURI``), so a harness that guessed URLs would fail.
``async_reads=N`` answers creations, actions and deletions with 202 and a Job that
finishes after N reads; ``isolate=False`` shares every user's resources.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
from typing import Any

from unit.conformance.refcimi import render
from webob import Request, Response

USERS = {"alice": "alice-password", "bob": "bob-password"}
JSON, XML = "application/json", "application/xml"
BASE = "/api/"
#: collection path -> (CEP key, type)
COLLECTIONS = {
    "machines": ("machines", "Machine"),
    "machine-configs": ("machineConfigs", "MachineConfiguration"),
    "machine-images": ("machineImages", "MachineImage"),
    "volumes": ("volumes", "Volume"),
    "volume-configs": ("volumeConfigs", "VolumeConfiguration"),
    "volume-images": ("volumeImages", "VolumeImage"),
    "networks": ("networks", "Network"),
    "network-configs": ("networkConfigs", "NetworkConfiguration"),
    "jobs": ("jobs", "Job"),
}
CREATABLE = {
    "machines": ("MachineCreate", "machineTemplate", "STARTED"),
    "volumes": ("VolumeCreate", "volumeTemplate", "AVAILABLE"),
    "networks": ("NetworkCreate", "networkTemplate", "STARTED"),
}
MOVES = {
    ("STARTED", "stop"): "STOPPED",
    ("STOPPED", "start"): "STARTED",
    ("STARTED", "restart"): "STARTED",
}


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RefCimi:
    """The WSGI application."""

    def __init__(self, namespace: str, *, async_reads: int = 0, isolate: bool = True) -> None:
        self.ns, self.async_reads, self.isolate = namespace, async_reads, isolate
        self.ids = itertools.count(1)
        self.items: dict[str, dict[str, Any]] = {}  # path (under /api/) -> resource
        self.meta: dict[str, dict[str, Any]] = {}  # path -> {"owner", "type", "job"...}
        self.requests: list[tuple[str, str]] = []
        stamp = now()
        for path, data in (
            ("machine-configs/small", {"cpu": 1, "memory": 1048576}),
            (
                "machine-images/debian",
                {
                    "state": "AVAILABLE",
                    "type": "IMAGE",
                    "imageLocation": "http://images.invalid/debian.qcow2",
                },
            ),
            ("volume-configs/1g", {"format": "ext4", "capacity": 1048576}),
            (
                "volume-images/empty",
                {
                    "state": "AVAILABLE",
                    "imageLocation": {"href": "http://images.invalid/empty"},
                    "bootable": False,
                },
            ),
            ("network-configs/private", {"networkType": "PRIVATE", "mtu": 1500}),
        ):
            self._store(path, None, {"name": path.rsplit("/", 1)[1], "created": stamp, **data})

    def _store(self, path: str, owner: str | None, data: dict[str, Any]) -> None:
        collection = path.split("/")[0]
        self.items[path] = {"id": path, **data}
        self.meta[path] = {"owner": owner, "type": COLLECTIONS[collection][1]}

    # ------------------------------------------------------------ plumbing

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append((request.method, request.path_qs))
        try:
            user = self._user(request)
            media = self._negotiate(request)
            response = self.route(request, user, media)
        except HttpError as exc:
            response = Response(f"{exc.message}\n", content_type="text/plain", status=exc.status)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = 'Basic realm="cimi"'
        response.headers["CIMI-Specification-Version"] = "2.0.0"
        return response(environ, start_response)

    @staticmethod
    def _user(request: Request) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            user, _, password = base64.b64decode(token).decode().partition(":")
            if USERS.get(user) == password:
                return user
        raise HttpError(401, "authentication required")

    @staticmethod
    def _negotiate(request: Request) -> str:
        forced = request.GET.get("$format")
        if forced in ("json", "xml"):
            return JSON if forced == "json" else XML
        for media in (
            m.split(";")[0].strip() for m in (request.headers.get("Accept") or "*/*").split(",")
        ):
            if media in (JSON, XML):
                return media
            if media in ("*/*", "application/*"):
                return JSON
        raise HttpError(406, "JSON or XML only")

    def send(
        self,
        media: str,
        type_name: str,
        data: dict[str, Any],
        status: int = 200,
        operations: list[dict[str, str]] | None = None,
    ) -> Response:
        data = {**data, "operations": operations or []}
        if media == JSON:
            body = json.dumps(render.to_json(self.ns, type_name, data)).encode("utf-8")
            return Response(body, content_type=JSON, status=status)
        return Response(render.to_xml(self.ns, type_name, data), content_type=XML, status=status)

    def visible(self, path: str, user: str) -> bool:
        owner = self.meta[path]["owner"]
        return owner is None or not self.isolate or owner == user

    def operations(self, path: str) -> list[dict[str, str]]:
        meta, data = self.meta[path], self.items[path]
        if meta["owner"] is None:
            return []
        ops = [{"rel": "edit", "href": path}, {"rel": "delete", "href": path}]
        if meta["type"] in ("Machine", "Network"):
            names = [a for s, a in MOVES if s == data.get("state")]
            if meta["type"] == "Network":
                names = [n for n in names if n != "restart"]
            ops += [{"rel": f"{self.ns}/action/{n}", "href": f"{path}/actions"} for n in names]
        return ops

    # ------------------------------------------------------------ the routes

    def route(self, request: Request, user: str, media: str) -> Response:
        from unit.conformance.refcimi.handlers import route

        return route(self, request, user, media)

    def advance(self, path: str) -> None:
        """One read of a job or of its target: move the job along."""
        job_path = self.meta.get(path, {}).get("job", path if path.startswith("jobs/") else None)
        if job_path is None or job_path not in self.items:
            return
        job, meta = self.items[job_path], self.meta[job_path]
        if job["state"] in ("SUCCESS", "FAILED"):
            return
        meta["reads"] -= 1
        job["state"], job["progress"] = "RUNNING", 50
        if meta["reads"] <= 0:
            job.update(state="SUCCESS", progress=100, timeOfStatusChange=now())
            meta["finish"]()

    def new_job(self, user: str, target: str, action: str, finish: Any) -> str:
        path = f"jobs/{next(self.ids)}"
        self._store(
            path,
            user,
            {
                "created": now(),
                "state": "QUEUED",
                "targetResource": {"href": target},
                "affectedResources": [{"href": target}],
                "action": action,
                "progress": 0,
                "timeOfStatusChange": now(),
            },
        )
        self.meta[path].update(reads=self.async_reads, finish=finish)
        self.meta[target]["job"] = path
        return path

    @staticmethod
    def filtered(entries: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
        expression = request.GET.get("$filter")
        if expression:
            match = re.fullmatch(r"\s*name\s*=\s*'([^']*)'\s*", expression)
            if match is None:
                raise HttpError(400, f"unsupported filter {expression!r}")
            entries = [e for e in entries if e.get("name") == match.group(1)]
        first, last = request.GET.get("$first"), request.GET.get("$last")
        if first or last:
            entries = entries[int(first or 1) - 1 : int(last) if last else None]
        return entries

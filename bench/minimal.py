"""The "minimal correct" server: the reference of every scenario of bench/requests.py.

It does the least a correct server must do to answer the benchmark's
requests with the very bytes Concord answers them with (issue 15):

* **authentication**: HTTP Basic, checked against a verified-password cache
  (the same :class:`~concord.auth.resolver.VerifiedPasswordCache`, keyed by
  the current password hash) after **one indexed sign-in SELECT** (user,
  account and domain, their states); a disabled tenant is refused at once;
* **reads**: exactly what the response contains, with as few statements as
  possible, through SQLAlchemy Core on the same engine (statements built
  once): a compute by primary key and owner, its links (storage attachments
  and interfaces with their networks' gateways, one UNION statement) and its
  tags; a listing's rows in one statement (and, for OCCI JSON, the links and
  tags of all of them in one statement each);
* **writes** (POST create, an action): the resource or state change and its
  job, in one transaction; no quota, placement or event (a floor, not an
  equivalent: Concord does more, and the table says so);
* **rendering**: string formatting and the standard :mod:`json` module,
  written for the benchmark's data only (running computes, no Mixins but their zone's): the
  benchmark asserts the bodies are byte-identical, so a rendering this app
  does not know fails loudly instead of measuring the wrong thing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from concord.auth.resolver import VerifiedPasswordCache
from engine.compute.models import Compute
from engine.db import Database, new_id, utcnow
from engine.inventory.models import Zone
from engine.jobs.models import Job
from engine.network.models import Network, NetworkInterface
from engine.resources.tag_models import TagAssignment
from engine.storage.models import StorageAttachment
from engine.tenancy.models import Account, Domain, User
from engine.tenancy.passwords import PasswordHasher

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
#: The scheme of the availability-zone Mixin every compute shows (docs/occi.rst).
ZONE = "http://schemas.concord.invalid/occi/availability_zone#"
ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
CIMI_NS = "http://schemas.dmtf.org/cimi/1"
#: The engine states the benchmark's computes are in, in each rendering's words.
OCCI_STATE: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "running": ("active", None, ("stop", "restart", "suspend"))
}
OCCI_STATE["restarting"] = ("active", "restarting (a job is running)", ())
CIMI_STATE = {"running": ("STARTED", ("stop", "restart", "pause", "suspend"))}
ARCH = {"x86_64": ("x64", "x86_64")}
_QUOTE = str.maketrans({'"': '\\"', "\\": "\\\\"})
_XML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})

_c, _u, _a, _d = Compute.__table__.c, User.__table__.c, Account.__table__.c, Domain.__table__.c
_s, _i, _n = StorageAttachment.__table__.c, NetworkInterface.__table__.c, Network.__table__.c
_t = TagAssignment.__table__.c
_z = Zone.__table__.c
SIGN_IN = (
    sa.select(_u.id, _u.password_hash, _u.state, _a.id, _a.state, _a.domain_id, _d.state)
    .join_from(User.__table__, Account.__table__, _a.id == _u.account_id)
    .join(Domain.__table__, _d.id == _a.domain_id)
    .where(_u.username == sa.bindparam("user"))
)
_COLUMNS: tuple[Any, ...] = (
    _c.id,
    _c.name,
    _c.state,
    _c.state_message,
    _c.vcpus,
    _c.memory_mib,
    _c.cpu_share,
)
_COLUMNS += (_c.arch, _c.created, _c.updated, _c.ha_enabled, _c.offering_id, _c.image_id)
_COLUMNS += (_c.ssh_public_key, _c.user_data)
_VISIBLE = (_c.account_id == sa.bindparam("account")) & _c.state.not_in(["deleting", "deleted"])
# The zone's name is its Mixin's term, and CIMI's ``zone`` (the benchmark's is a valid term).
_ROWS = sa.select(*_COLUMNS, _z.name.label("zone")).join_from(
    Compute.__table__, Zone.__table__, _z.id == _c.zone_id
)
ONE = _ROWS.where(_c.id == sa.bindparam("id"), _VISIBLE)
ALL = _ROWS.where(_VISIBLE).order_by(_c.created, _c.id)
LOCATIONS = sa.select(_c.id).where(_VISIBLE).order_by(_c.created, _c.id)


def _links(where_s: Any, where_i: Any) -> Any:
    # One row shape for both kinds of link: owner, kind, order, id, target, title, state,
    # then the interface's MAC, address, gateway and allocation.
    sort_keys = (_s.compute_id.label("owner"), sa.literal(0).label("sort"), _s.device.label("ord"))
    storage = sa.select(*sort_keys, _s.id, _s.volume_id, _s.name, _s.state, *[sa.null()] * 4).where(
        where_s, _s.state.not_in(["detaching", "deleted"])
    )
    nics = (
        sa.select(
            _i.compute_id,
            sa.literal(1),
            _i.interface,
            _i.id,
            _i.network_id,
            _i.name,
            _i.state,
            _i.mac,
            _i.ip_address,
            _n.gateway,
            _i.allocation,
        )
        .join(Network.__table__, _n.id == _i.network_id)
        .where(where_i, _i.state.not_in(["detaching", "deleted"]))
    )
    order: list[Any] = [sa.literal_column(name) for name in ("owner", "sort", "ord")]
    return sa.union_all(storage, nics).order_by(*order)


LINKS_OF_ONE = _links(_s.compute_id == sa.bindparam("id"), _i.compute_id == sa.bindparam("id"))
LINKS_OF_ALL = _links(
    _s.account_id == sa.bindparam("account"), _i.account_id == sa.bindparam("account")
)
TAGS_OF_ONE = sa.select(_t.resource_id, _t.tag_id).where(_t.resource_id == sa.bindparam("id"))
TAGS_OF_ALL = sa.select(_t.resource_id, _t.tag_id).where(
    _t.resource_id.in_(sa.select(_c.id).where(_c.account_id == sa.bindparam("account")))
)
START = (
    sa.update(Compute)
    .where(_c.id == sa.bindparam("target"), _c.account_id == sa.bindparam("account"))
    .where(_c.state == "running")
    .values(state="restarting", updated=sa.bindparam("now"))
)


class Minimal:
    """The minimal-correct application's state: the engine and the password cache."""

    def __init__(self, database: Database, hasher: PasswordHasher) -> None:
        self.engine = database.engine
        self.hasher = hasher
        self.cache = VerifiedPasswordCache(ttl=3600)
        # The zone new computes go to: the deployment's only one, found once.
        with self.engine.connect() as connection:
            self.zone_id = connection.execute(sa.text("SELECT id FROM zones")).scalar_one()

    def sign_in(self, connection: sa.Connection, request: Request) -> tuple[str, str, str]:
        """The caller's user, account and domain ids; 401 unless all are enabled."""
        header = request.headers.get("Authorization", "")
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        row = connection.execute(SIGN_IN, {"user": user}).first()
        if row is None or not (row[2] == row[4] == row[6] == "enabled"):
            raise PermissionError("sign-in failed")
        if not self.cache.knows(row[0], row[1], password):
            if not self.hasher.verify(row[1], password):
                raise PermissionError("sign-in failed")
            self.cache.remember(row[0], row[1], password)
        return row[0], row[3], row[5]


def _check_plain(row: Any) -> None:
    if row.offering_id or row.image_id or row.ssh_public_key or row.user_data or row.ha_enabled:
        raise NotImplementedError("the minimal app renders computes without Mixins only")


def _q(value: str) -> str:
    return '"' + value.translate(_QUOTE) + '"'


def _gib(mib: int) -> str:
    return repr(mib / 1024)


def occi_attributes(row: Any) -> list[tuple[str, str, Any]]:
    """(name, text value, JSON value) of a compute's attributes, in Concord's order."""
    _check_plain(row)
    state, message, _ = OCCI_STATE[row.state]
    arch = ARCH[row.arch][0]
    out = [
        ("occi.core.id", _q(f"urn:uuid:{row.id}"), f"urn:uuid:{row.id}"),
        ("occi.core.title", _q(row.name), row.name),
        ("occi.compute.architecture", _q(arch), arch),
        ("occi.compute.cores", str(row.vcpus), row.vcpus),
        ("occi.compute.memory", _gib(row.memory_mib), row.memory_mib / 1024),
        ("occi.compute.share", str(row.cpu_share), row.cpu_share),
        ("occi.compute.state", _q(state), state),
    ]
    if message:
        out.append(("occi.compute.state.message", _q(message), message))
    return out


def _link_parts(base: str, compute_id: str, link: Any) -> tuple[dict[str, Any], list[str]]:
    """A link's JSON object and its text attributes (``name=value``)."""
    storage = link[1] == 0
    kind, target = ("storagelink", "storage") if storage else ("networkinterface", "network")
    state = {"attached": "active"}[link[6]]
    attributes: dict[str, Any] = {"occi.core.id": f"urn:uuid:{link[3]}", "occi.core.title": link[5]}
    if storage:
        attributes["occi.storagelink.deviceid"] = f"/dev/{link[2]}"
        attributes["occi.storagelink.state"] = state
    else:
        attributes["occi.networkinterface.interface"] = link[2]
        attributes["occi.networkinterface.mac"] = link[7]
        attributes["occi.networkinterface.state"] = state
        attributes["occi.networkinterface.address"] = link[8]
        attributes["occi.networkinterface.gateway"] = link[9]
        attributes["occi.networkinterface.allocation"] = link[10]
    obj: dict[str, Any] = {"kind": INFRA + kind}
    if not storage:
        obj["mixins"] = [INFRA[:-1] + "/networkinterface#ipnetworkinterface"]
    obj["attributes"] = attributes
    obj["id"], obj["title"] = attributes["occi.core.id"], link[5]
    source, target_url = f"{base}/compute/{compute_id}", f"{base}/{target}/{link[4]}"
    obj["source"] = {"location": source, "kind": INFRA + "compute"}
    obj["target"] = {"location": target_url, "kind": INFRA + target}
    categories = " ".join([obj["kind"], *obj.get("mixins", ())])
    text = [
        f"<{target_url}>",
        f'rel="{INFRA}{target}"',
        f'self="{base}/{"storagelink" if storage else "networkinterface"}/{link[3]}"',
        f'category="{categories}"',
        f'occi.core.source="{source}"',
        f'occi.core.target="{target_url}"',
        f'occi.core.source.kind="{INFRA}compute"',
        f'occi.core.target.kind="{INFRA}{target}"',
    ]
    text += [f"{name}={_q(value)}" for name, value in attributes.items()]
    return obj, text


def occi_plain(base: str, row: Any, links: list[Any]) -> str:
    """text/plain of one compute (GFD.229 §3)."""
    lines = [f'Category: compute; scheme="{INFRA}"; class="kind"']
    lines.append(f'Category: {row.zone}; scheme="{ZONE}"; class="mixin"')
    lines += ["Link: " + "; ".join(_link_parts(base, row.id, link)[1]) for link in links]
    for term in OCCI_STATE[row.state][2]:
        lines.append(f'Link: <{base}/compute/{row.id}?action={term}>; rel="{ACTION}{term}"')
    lines += [f"X-OCCI-Attribute: {name}={text}" for name, text, _ in occi_attributes(row)]
    return "\n".join(lines)


def occi_headers(base: str, row: Any, links: list[Any]) -> list[tuple[str, str]]:
    """text/occi headers of one compute."""
    links_value = [
        "; ".join(_link_parts(base, row.id, link)[1]) for link in links
    ] + [
        f'<{base}/compute/{row.id}?action={term}>; rel="{ACTION}{term}"'
        for term in OCCI_STATE[row.state][2]
    ]  # fmt: skip
    kind = f'compute; scheme="{INFRA}"; class="kind"'
    headers = [("Category", f'{kind}, {row.zone}; scheme="{ZONE}"; class="mixin"')]
    if links_value:
        headers.append(("Link", ", ".join(links_value)))
    attributes = ", ".join(f"{name}={text}" for name, text, _ in occi_attributes(row))
    headers.append(("X-OCCI-Attribute", attributes))
    return headers


def occi_json(base: str, row: Any, links: list[Any]) -> dict[str, Any]:
    """The GFD.226 object of one compute."""
    attributes = {name: value for name, _, value in occi_attributes(row)}
    obj: dict[str, Any] = {"kind": INFRA + "compute", "mixins": [ZONE + row.zone]}
    obj["attributes"] = attributes
    actions = OCCI_STATE[row.state][2]
    if actions:
        obj["actions"] = [ACTION + term for term in actions]
    obj["id"], obj["title"] = attributes["occi.core.id"], row.name
    if links:
        obj["links"] = [_link_parts(base, row.id, link)[0] for link in links]
    return obj


def _json(data: Any) -> str:
    # The standard module, in the compact form Concord answers (issue 15's baseline).
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _stamp(value: Any) -> str:
    return value.replace(tzinfo=None).isoformat() + "Z"


def cimi_machine(base: str, row: Any) -> dict[str, Any]:
    """The CIMI Machine of one compute, as JSON data."""
    _check_plain(row)
    href = f"{base}/cimi/machines/{row.id}"
    state, actions = CIMI_STATE[row.state]
    operations = [{"rel": "edit", "href": href}, {"rel": "delete", "href": href}]
    operations += [{"rel": f"{CIMI_NS}/action/{a}", "href": href} for a in actions]
    return {
        "resourceURI": f"{CIMI_NS}/Machine",
        "id": href,
        "name": row.name,
        "created": _stamp(row.created),
        "updated": _stamp(row.updated),
        "state": state,
        "cpu": row.vcpus,
        "memory": row.memory_mib * 1024,
        "disks": {"href": href + "/disks"},
        "cpuArch": ARCH[row.arch][1],
        "volumes": {"href": href + "/volumes"},
        "networkInterfaces": {"href": href + "/networkInterfaces"},
        "highlyAvailable": bool(row.ha_enabled),
        "zone": row.zone,
        "operations": operations,
    }


def _x(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).translate(_XML)


def cimi_machine_xml(machine: dict[str, Any]) -> str:
    """The ``<Machine>`` element (no namespace declaration) of :func:`cimi_machine`'s data."""
    parts = ["<Machine>"]
    for key, value in machine.items():
        if key == "resourceURI":
            continue
        if key == "operations":
            parts += [f'<operation rel="{_x(o["rel"])}" href="{_x(o["href"])}"/>' for o in value]
        elif isinstance(value, dict):
            parts.append(f'<{key} href="{_x(value["href"])}"/>')
        else:
            parts.append(f"<{key}>{_x(value)}</{key}>")
    parts.append("</Machine>")
    return "".join(parts)


XML_HEAD = "<?xml version='1.0' encoding='UTF-8'?>\n"
OCCI_PLAIN = "text/plain; charset=utf-8"


def _response(body: str, content_type: str, status: int = 200, **headers: str) -> Response:
    response = Response(body=body.encode(), status=status, content_type=None)
    response.headers["Content-Type"] = content_type
    response.headers.update(headers)
    return response


def make_minimal_app(minimal: Minimal) -> Callable[..., Any]:
    """The WSGI app serving the benchmark's requests minimally."""
    config = Configurator()

    def connect() -> Any:
        return minimal.engine.begin()

    def one_compute(request: Request) -> Response:
        base, media = request.host_url, request.accept.header_value
        with connect() as connection:
            _, account, _ = minimal.sign_in(connection, request)
            row = connection.execute(ONE, {"id": request.matchdict["id"], "account": account})
            compute = row.one()
            links = connection.execute(LINKS_OF_ONE, {"id": compute.id}).all()
            if connection.execute(TAGS_OF_ONE, {"id": compute.id}).first() is not None:
                raise NotImplementedError("tags")
        if media == "text/plain":
            return _response(occi_plain(base, compute, links), OCCI_PLAIN)
        if media == "text/occi":
            response = _response("OK", "text/occi; charset=utf-8")
            for name, value in occi_headers(base, compute, links):
                response.headers[name] = value
            return response
        body = _json(occi_json(base, compute, links))
        return _response(body, "application/occi+json")

    def list_computes(request: Request) -> Response:
        base, media = request.host_url, request.accept.header_value
        with connect() as connection:
            _, account, _ = minimal.sign_in(connection, request)
            if media != "application/occi+json":
                ids = connection.execute(LOCATIONS, {"account": account}).scalars().all()
                locations = [f"{base}/compute/{i}" for i in ids]
                if media == "text/occi":
                    response = _response("OK", "text/occi; charset=utf-8")
                    response.headers["X-OCCI-Location"] = ", ".join(locations)
                    return response
                body = "\n".join("X-OCCI-Location: " + location for location in locations)
                return _response(body, OCCI_PLAIN)
            rows = connection.execute(ALL, {"account": account}).all()
            by_compute: dict[str, list[Any]] = {}
            for link in connection.execute(LINKS_OF_ALL, {"account": account}):
                by_compute.setdefault(link[0], []).append(link)
            if connection.execute(TAGS_OF_ALL, {"account": account}).first() is not None:
                raise NotImplementedError("tags")
        resources = [occi_json(base, row, by_compute.get(row.id, [])) for row in rows]
        body = _json({"resources": resources})
        return _response(body, "application/occi+json")

    def create(request: Request) -> Response:
        base = request.host_url
        with connect() as connection:
            user, account, domain = minimal.sign_in(connection, request)
            compute_id, now = new_id(), utcnow()
            title = request.body.decode().split('occi.core.title="', 1)[1].split('"', 1)[0]
            values = {"id": compute_id, "name": title, "state": "creating", "vcpus": 1}
            values |= {"memory_mib": 64, "cpu_share": 1024, "arch": "x86_64", "created": now}
            values |= {"updated": now, "properties": {}, "account_id": account}
            values |= {"domain_id": domain, "ha_enabled": False, "ha_priority": 0}
            values |= {"zone_id": minimal.zone_id}
            values |= {"root_disk_bytes": 0, "quota_held": True, "guest_id": new_id()}
            connection.execute(sa.insert(Compute), values)
            connection.execute(sa.insert(Job), _job("create", compute_id, values, user))
        location = f"{base}/compute/{compute_id}"
        body = f"X-OCCI-Location: {location}"
        return _response(body, OCCI_PLAIN, 201, Location=location)

    def act(request: Request) -> Response:
        base = request.host_url
        with connect() as connection:
            user, account, domain = minimal.sign_in(connection, request)
            compute_id, now = request.matchdict["id"], utcnow()
            changed = connection.execute(
                START, {"target": compute_id, "account": account, "now": now}
            )
            if changed.rowcount != 1:
                raise LookupError("not running")
            owner = {"account_id": account, "domain_id": domain}
            connection.execute(sa.insert(Job), _job("restart", compute_id, owner, user))
            compute = connection.execute(ONE, {"id": compute_id, "account": account}).one()
            links = connection.execute(LINKS_OF_ONE, {"id": compute_id}).all()
            if connection.execute(TAGS_OF_ONE, {"id": compute_id}).first() is not None:
                raise NotImplementedError("tags")
        return _response(occi_plain(base, compute, links), OCCI_PLAIN)

    def machine(request: Request) -> Response:
        base, media = request.host_url, request.accept.header_value
        with connect() as connection:
            _, account, _ = minimal.sign_in(connection, request)
            row = connection.execute(ONE, {"id": request.matchdict["id"], "account": account})
            data = cimi_machine(base, row.one())
        return _cimi(media, _json(data), lambda: _machine_xml(data))

    def machines(request: Request) -> Response:
        base, media = request.host_url, request.accept.header_value
        with connect() as connection:
            _, account, _ = minimal.sign_in(connection, request)
            rows = connection.execute(ALL, {"account": account}).all()
        entries = [cimi_machine(base, row) for row in rows]
        href = f"{base}/cimi/machines"
        if media == "application/xml":
            body = (
                f'{XML_HEAD}<Collection xmlns="{CIMI_NS}" resourceURI="{CIMI_NS}/'
                f'MachineCollection"><id>{href}</id><count>{len(entries)}</count>'
                + "".join(cimi_machine_xml(e) for e in entries)
                + f'<operation rel="add" href="{href}"/></Collection>'
            )
            return _cimi(media, "", lambda: body)
        document: dict[str, Any] = {"resourceURI": f"{CIMI_NS}/MachineCollection", "id": href}
        document |= {"count": len(entries), "machines": entries}
        document["operations"] = [{"rel": "add", "href": href}]
        return _cimi(media, _json(document), lambda: "")

    config.add_route("compute", "/compute/{id}", request_method="GET")
    config.add_route("act", "/compute/{id}", request_method="POST")
    config.add_route("computes", "/compute/", request_method="GET")
    config.add_route("create", "/compute/", request_method="POST")
    config.add_route("machine", "/cimi/machines/{id}")
    config.add_route("machines", "/cimi/machines")
    for name, view in [("compute", one_compute), ("act", act), ("computes", list_computes)]:
        config.add_view(view, route_name=name)
    for name, view in [("create", create), ("machine", machine), ("machines", machines)]:
        config.add_view(view, route_name=name)
    return config.make_wsgi_app()


def _machine_xml(data: dict[str, Any]) -> str:
    element = cimi_machine_xml(data)
    return XML_HEAD + element.replace("<Machine>", f'<Machine xmlns="{CIMI_NS}">', 1)


def _cimi(media: str, json_body: str, xml_body: Callable[[], str]) -> Response:
    if media == "application/xml":
        return _response(xml_body(), "application/xml; charset=utf-8")
    return _response(json_body, "application/json; charset=utf-8")


def _job(action: str, target: str, owner: dict[str, Any], user: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id(), "action": action, "target_type": "compute", "target_id": target,
        "state": "queued", "progress": 0, "parameters": {}, "result": {}, "attempts": 0,
        "account_id": owner["account_id"], "domain_id": owner["domain_id"], "user_id": user,
        "created": now, "updated": now,
    }  # fmt: skip

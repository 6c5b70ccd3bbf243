"""CIMI discovery and the full profile's resources, shared by the cases.

The Cloud Entry Point is the one URL the harness needs: ``--cep``, else the
endpoint URL itself, else a few conventional places (tried in order and
reported). Everything else is followed from it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import urljoin

from conformance.cases.session import CaseFailed, CaseSkipped, Session
from conformance.client import Client, Exchange
from conformance.formats import cimi
from conformance.formats.cimi import JSON, Document
from conformance.ledger import Owned

#: Where CEPs conventionally live, tried after the URL itself (Deltacloud and Concord,
#: Sirocco, a bare prefix that redirects).
CEP_CANDIDATES = ("cimi/cloudEntryPoint", "cloudEntryPoint", "cimi/")
FINAL_JOB_STATES = ("SUCCESS", "FAILED", "STOPPED", "CANCELLED")


@dataclass(frozen=True)
class Kind:
    """How to create one kind of CIMI resource from what the provider offers."""

    name: str
    collection: str
    type: str
    template: str
    refs: tuple[tuple[str, str], ...]
    stable: tuple[str, ...]


KINDS = {
    "machine": Kind(
        "machine",
        "machines",
        "Machine",
        "machineTemplate",
        (("machineConfig", "machineConfigs"), ("machineImage", "machineImages")),
        ("STARTED", "STOPPED", "PAUSED", "SUSPENDED"),
    ),
    "volume": Kind(
        "volume",
        "volumes",
        "Volume",
        "volumeTemplate",
        (("volumeConfig", "volumeConfigs"),),
        ("AVAILABLE",),
    ),
    "network": Kind(
        "network",
        "networks",
        "Network",
        "networkTemplate",
        (("networkConfig", "networkConfigs"),),
        ("STARTED", "STOPPED"),
    ),
}


@dataclass(frozen=True)
class Created:
    """The answer to a creation, where the resource is, and its Job if any."""

    exchange: Exchange
    location: str | None
    job: str | None


class CimiSupport:
    """CIMI helpers for one run (see :meth:`of`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.client = session.client
        self.tried: list[str] = []
        self.cep_url: str | None = None

    @classmethod
    def of(cls, session: Session) -> CimiSupport:
        """The run's instance (created on first use)."""
        found = session.cache.get("cimi.support")
        if not isinstance(found, cls):
            found = cls(session)
            session.cache["cimi.support"] = found
        return found

    # ------------------------------------------------------------ the entry point

    def locate_cep(self) -> str | None:
        """Find the Cloud Entry Point (once); None when nothing looks like one."""
        if self.cep_url is not None or self.tried:
            return self.cep_url
        given = self.session.config.cep
        candidates = [given] if given else [self.session.config.url, *CEP_CANDIDATES]
        for candidate in candidates:
            url = self.client.url(candidate)
            self.tried.append(url)
            exchange = self.client.get(url, JSON)
            if exchange.status in (301, 302, 303, 307, 308) and exchange.response.header(
                "Location"
            ):
                url = urljoin(url, exchange.response.header("Location") or "")
                exchange = self.client.get(url, JSON)
            try:
                uri = cimi.parse_json(exchange.response.body).resource_uri or ""
            except ValueError:
                continue
            if exchange.status == 200 and uri.endswith("/CloudEntryPoint"):
                self.cep_url = url
                return url
        return None

    def cep_location(self) -> str:
        """The CEP URL, or a failure when none was found."""
        found = self.locate_cep()
        if found is None:
            raise CaseFailed(f"no Cloud Entry Point found (tried {', '.join(self.tried)})")
        return found

    def cep(self, rendering: str = JSON, *, failing: bool = False) -> tuple[Exchange, Document]:
        """GET the CEP in ``rendering`` (once per run; ``failing`` as in Session.memo)."""

        def fetch() -> tuple[Exchange, Document]:
            exchange = self.client.get(self.cep_location(), rendering)
            return exchange, self.parse(exchange, rendering, "the Cloud Entry Point")

        return self.session.memo(f"the CEP as {rendering}", fetch, failing=failing)

    def parse(self, exchange: Exchange, rendering: str, what: str) -> Document:
        """The document of a 200 response, or a failure saying what is wrong."""
        if exchange.status != 200:
            raise CaseFailed(f"{what}: {exchange.summary()}", [exchange])
        try:
            return cimi.parse(rendering, exchange.response.body)
        except ValueError as exc:
            raise CaseFailed(f"{what}: {exc}", [exchange]) from exc

    @property
    def namespace(self) -> str:
        """The CIMI namespace the provider uses (from the CEP's resourceURI)."""
        uri = self.cep(JSON)[1].resource_uri or ""
        return uri.rsplit("/", 1)[0]

    def base(self) -> str:
        """What relative hrefs resolve against: baseURI, else the CEP URL."""
        base = self.cep(JSON)[1].get("baseURI")
        return base if isinstance(base, str) and base else self.cep_location()

    def resolve(self, href: str) -> str:
        """An href made absolute."""
        return urljoin(self.base(), href)

    def action(self, name: str) -> str:
        """The URI of a standard action: ``<namespace>/action/<name>``."""
        return f"{self.namespace}/action/{name}"

    # ------------------------------------------------------------ collections

    def collection_url(self, key: str) -> str:
        """The href of CEP collection ``key``, or a skip when the provider lacks it."""
        href = self.cep(JSON)[1].href(key)
        if href is None:
            raise CaseSkipped(f"the Cloud Entry Point offers no {key} collection")
        return self.resolve(href)

    def collection(self, key: str, rendering: str = JSON) -> tuple[Exchange, Document]:
        """GET collection ``key`` in ``rendering``."""
        exchange = self.client.get(self.collection_url(key), rendering)
        return exchange, self.parse(exchange, rendering, f"the {key} collection")

    def first(self, key: str) -> str:
        """The id of the first entry of collection ``key`` (absolute)."""
        _, document = self.collection(key)
        for entry in document.entries:
            if isinstance(entry.get("id"), str):
                return self.resolve(entry["id"])
        raise CaseSkipped(f"the {key} collection is empty")

    def cheapest(self, key: str) -> str:
        """The id of the smallest entry of collection ``key`` (absolute).

        A tester creates the least it can in someone's cloud: the configuration
        with the least capacity, memory and CPU, so that the run fits in a
        tenant's quota and leaves it as it found it.
        """
        _, document = self.collection(key)
        sized = [
            (
                tuple(
                    entry.get(attr) if isinstance(entry.get(attr), int) else 0
                    for attr in ("capacity", "memory", "cpu")
                ),
                entry["id"],
            )
            for entry in document.entries
            if isinstance(entry.get("id"), str)
        ]
        if not sized:
            raise CaseSkipped(f"the {key} collection is empty")
        return self.resolve(min(sized)[1])

    def read(
        self, url: str, rendering: str = JSON, client: Client | None = None
    ) -> tuple[Exchange, Document]:
        """GET a resource."""
        exchange = (client or self.client).get(url, rendering)
        return exchange, self.parse(exchange, rendering, url)

    def sample(self, kind: str) -> str:
        """A resource to read: ours in the full profile, else the first listed."""
        if self.session.config.profile == "full":
            return self.fixture(kind)
        return self.first(KINDS[kind].collection)

    # ------------------------------------------------------------ the full profile

    def require_full(self) -> None:
        """Skip unless the run may create and delete."""
        if self.session.config.profile != "full":
            raise CaseSkipped("needs --profile full (creates and deletes its own resources)")

    def create(self, kind_name: str, rendering: str = JSON) -> Created:
        """POST a ``<Type>Create`` to the add operation of the kind's collection; track it."""
        self.require_full()
        kind = KINDS[kind_name]
        _, collection = self.collection(kind.collection)
        add = collection.operation("add")
        if add is None:
            raise CaseSkipped(f"the {kind.collection} collection advertises no add operation")
        template = {ref: {"href": self.cheapest(source)} for ref, source in kind.refs}
        fields = {
            "name": self.session.unique(kind.name),
            "description": "created by the Concord conformance harness",
            "properties": {"conformance-run": self.session.run_id},
            kind.template: template,
        }
        body = cimi.body(rendering, self.namespace, f"{kind.type}Create", fields)
        exchange = self.client.request(
            "POST",
            self.resolve(add),
            headers=[("Content-Type", rendering), ("Accept", rendering)],
            body=body,
        )
        job = exchange.response.header("CIMI-Job-URI")
        location = exchange.response.header("Location")
        if exchange.status in (201, 202) and location is None and job:
            location = self._job_target(self.resolve(job))
        if exchange.status < 300 and location:
            url = self.resolve(location)
            self.session.ledger.track(
                Owned(
                    "cimi",
                    f"{kind.type} {fields['name']}",
                    url,
                    self.client,
                    remove=lambda: self._delete(url),
                )
            )
            return Created(exchange, url, self.resolve(job) if job else None)
        return Created(exchange, None, self.resolve(job) if job else None)

    def _delete(self, url: str) -> Exchange:
        exchange = self.client.get(url, JSON)
        href = url
        if exchange.status == 200:
            with contextlib.suppress(ValueError):
                href = self.resolve(
                    cimi.parse_json(exchange.response.body).operation("delete") or url
                )
        return self.client.request("DELETE", href)

    def fixture(self, kind_name: str, *, failing: bool = False) -> str:
        """The run's shared resource of ``kind_name``, created once and settled."""

        def make() -> str:
            created = self.create(kind_name)
            if created.exchange.status not in (201, 202) or created.location is None:
                raise CaseFailed(
                    f"could not create a {kind_name}: {created.exchange.summary()}",
                    [created.exchange],
                )
            if created.job:
                self.wait_job(created.job)
            self.wait_state(created.location, KINDS[kind_name].stable)
            return created.location

        return self.session.memo(f"a CIMI {kind_name} of our own", make, failing=failing)

    # ------------------------------------------------------------ waiting

    def state(self, url: str) -> str | None:
        """The state of the resource at ``url`` (None if it cannot be read)."""
        exchange = self.client.get(url, JSON)
        if exchange.status != 200:
            return None
        try:
            value = cimi.parse_json(exchange.response.body).get("state")
        except ValueError:
            return None
        return value if isinstance(value, str) else None

    def wait_state(self, url: str, states: tuple[str, ...]) -> str:
        """Poll until the resource is in one of ``states``."""
        return self.session.waiter.until(
            lambda: s if (s := self.state(url)) in states else None,
            f"{url} to reach {'/'.join(states)}",
        )

    def wait_job(self, url: str) -> Document:
        """Poll a Job until it reaches a final state."""

        def probe() -> Document | None:
            exchange = self.client.get(url, JSON)
            if exchange.status != 200:
                return None
            document = cimi.parse_json(exchange.response.body)
            return document if document.get("state") in FINAL_JOB_STATES else None

        return self.session.waiter.until(probe, f"the Job {url} to finish")

    def _job_target(self, job: str) -> str | None:
        document = self.wait_job(job)
        affected = document.get("affectedResources")
        if isinstance(affected, list) and affected and isinstance(affected[0], dict):
            return affected[0].get("href")
        return document.href("targetResource")

    def invoke(self, url: str, name: str, rendering: str = JSON) -> Exchange:
        """POST the Action ``name`` to the href the resource advertises for it."""
        _, document = self.read(url)
        href = document.operation(self.action(name))
        if href is None:
            raise CaseSkipped(f"{url} does not advertise {name} now")
        body = cimi.body(rendering, self.namespace, "Action", {"action": self.action(name)})
        return self.client.request(
            "POST", self.resolve(href), headers=[("Content-Type", rendering)], body=body
        )

    def settle(self, exchange: Exchange) -> None:
        """After a 202, wait for the Job named by CIMI-Job-URI (if any)."""
        job = exchange.response.header("CIMI-Job-URI")
        if exchange.status == 202 and job:
            self.wait_job(self.resolve(job))

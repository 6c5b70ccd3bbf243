"""Actions on entities and collections (GFD.223 §3.7, GFD.224 §3 state diagrams).

Each action is checked where it matters: the engine's state, the OCCI state
rendered, and the guest on its (simulated) libvirt host.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from functional.occi.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    JSON_MEDIA,
    NETWORK,
    NETWORK_ACTION,
    OS_TPL,
    OS_TPL_SCHEME,
    REQUEST_MEDIA,
    RESPONSE_MEDIA,
    STORAGE,
    STORAGE_ACTION,
    STORAGELINK,
    TEXT_PLAIN,
    OcciClient,
    categories_of,
    collection_of,
    entity_of,
)

from engine.drivers.specs import PowerState
from engine.inventory.models import Host
from occi.model import LinkRendering

STATE = "occi.compute.state"


@pytest.fixture
def compute(occi: OcciClient, cloud) -> str:
    """A running compute."""
    path = occi.create(COMPUTE, {"occi.core.title": "web"})
    cloud.run_jobs()
    return path


def guest(cloud, path: str) -> PowerState:
    """The guest's power state on its libvirt host."""
    return cloud.driver().guest_state(cloud.guest(path.rsplit("/", 1)[1]))


#: (starting state, action, method, OCCI state after, libvirt power state after)
TRANSITIONS = [
    ("active", "stop", None, "inactive", PowerState.SHUTOFF),
    ("active", "stop", "poweroff", "inactive", PowerState.SHUTOFF),
    ("inactive", "start", None, "active", PowerState.RUNNING),
    ("active", "restart", "cold", "active", PowerState.RUNNING),
    ("active", "suspend", None, "suspended", PowerState.PAUSED),
    ("active", "suspend", "hibernate", "suspended", PowerState.SUSPENDED),
]


def bring(occi: OcciClient, cloud, path: str, state: str) -> None:
    if occi.attribute(path, STATE) == state:
        return
    occi.invoke(path, COMPUTE_ACTION + ("stop" if state == "inactive" else "start"))
    cloud.run_jobs()
    assert occi.attribute(path, STATE) == state


@pytest.mark.parametrize(("start", "term", "method", "state", "power"), TRANSITIONS)
@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_compute_actions_drive_libvirt(
    occi: OcciClient, cloud, compute: str, media, start, term, method, state, power
) -> None:
    bring(occi, cloud, compute, start)
    attributes = {"method": method} if method else {}
    response = occi.invoke(
        compute, COMPUTE_ACTION + term, attributes=attributes, media=media, accept=media
    )
    assert entity_of(response).kind == COMPUTE
    cloud.run_jobs()
    assert occi.attribute(compute, STATE) == state
    assert guest(cloud, compute) == power


def test_a_suspended_compute_starts_again(occi: OcciClient, cloud, compute: str) -> None:
    occi.invoke(compute, COMPUTE_ACTION + "suspend", attributes={"method": "hibernate"})
    cloud.run_jobs()
    occi.invoke(compute, COMPUTE_ACTION + "start")
    cloud.run_jobs()
    assert (occi.attribute(compute, STATE), guest(cloud, compute)) == (
        "active",
        PowerState.RUNNING,
    )


def test_an_action_without_a_body(occi: OcciClient, cloud, compute: str) -> None:
    # The query's term is enough when it names one Action of the Kind (curl -X POST).
    occi.request("POST", f"{compute}?action=stop", status=200)
    cloud.run_jobs()
    assert occi.attribute(compute, STATE) == "inactive"


def test_applicable_actions_follow_the_state(occi: OcciClient, cloud, compute: str) -> None:
    def actions() -> set[str]:
        return {a.rsplit("#", 1)[-1] for a in occi.read(compute).actions}

    assert actions() == {"stop", "restart", "suspend"}
    occi.invoke(compute, COMPUTE_ACTION + "stop")
    assert actions() == set()  # a job runs: nothing is applicable until it ends
    cloud.run_jobs()
    assert actions() == {"start", "save"}


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        # an Action of another Kind
        ("up", f'Category: up; scheme="{NETWORK_ACTION}"; class="action"', 400),
        # no such Action at all
        ("fly", f'Category: fly; scheme="{COMPUTE_ACTION}"; class="action"', 400),
        ("fly", "", 400),
        # the query and the body disagree (GFD.223 §3.7)
        ("stop", f'Category: start; scheme="{COMPUTE_ACTION}"; class="action"', 400),
        # a method the Action does not define, and a parameter it does not take
        (
            "stop",
            f'Category: stop; scheme="{COMPUTE_ACTION}"; class="action"\r\n'
            'X-OCCI-Attribute: method="sideways"',
            400,
        ),
        (
            "stop",
            f'Category: stop; scheme="{COMPUTE_ACTION}"; class="action"\r\n'
            "X-OCCI-Attribute: speed=2",
            400,
        ),
        # parameters without the Action's Category
        ("stop", 'X-OCCI-Attribute: method="graceful"', 400),
        # not applicable now: an active compute cannot start (GFD.224 Fig. 2)
        ("start", f'Category: start; scheme="{COMPUTE_ACTION}"; class="action"', 409),
        # save needs a stopped compute (the engine's capture)
        ("save", f'Category: save; scheme="{COMPUTE_ACTION}"; class="action"', 409),
        ("", "", 400),
    ],
)
def test_invalid_or_inapplicable_actions(
    occi: OcciClient, cloud, compute: str, query: str, body: str, status: int
) -> None:
    occi.request(
        "POST",
        f"{compute}?action={query}",
        headers={"Content-Type": TEXT_PLAIN},
        body=body,
        status=status,
    )
    cloud.run_jobs()
    assert occi.attribute(compute, STATE) == "active"
    assert guest(cloud, compute) == PowerState.RUNNING


@pytest.mark.parametrize("accept", RESPONSE_MEDIA)
def test_save_answers_with_the_new_os_template(occi: OcciClient, cloud, accept: str) -> None:
    # A guest with a disk (the demo images boot to firmware and have none to save).
    volume = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    compute = occi.create(COMPUTE, links=[LinkRendering(target=volume, kind=STORAGELINK)])
    cloud.run_jobs()
    bring(occi, cloud, compute, "inactive")
    response = occi.invoke(
        compute, COMPUTE_ACTION + "save", attributes={"name": "saved"}, accept=accept
    )
    (template,) = categories_of(response).categories
    assert template.scheme == OS_TPL_SCHEME and template.depends == (OS_TPL,)
    assert template.title == "saved"
    cloud.run_jobs()
    # The capture made an image: a new OS template to create computes from.
    occi.create(COMPUTE, mixins=[template.type_id])


def test_save_without_a_disk_fails_in_the_job(occi: OcciClient, cloud, compute: str) -> None:
    bring(occi, cloud, compute, "inactive")
    response = occi.invoke(compute, COMPUTE_ACTION + "save")
    (template,) = categories_of(response).categories
    cloud.run_jobs()
    listed = occi.request("GET", "/-/", status=200).text
    assert template.type_id.rsplit("#", 1)[1] not in listed  # a failed capture is no template
    assert occi.attribute(compute, STATE) == "inactive"


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_storage_online_and_offline(occi: OcciClient, cloud, media: str) -> None:
    path = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    assert occi.attribute(path, "occi.storage.state") == "online"
    occi.invoke(path, STORAGE_ACTION + "offline", media=media)
    cloud.run_jobs()
    assert occi.attribute(path, "occi.storage.state") == "offline"
    occi.invoke(path, STORAGE_ACTION + "offline", media=media, status=409)
    occi.invoke(path, STORAGE_ACTION + "online", media=media)
    cloud.run_jobs()
    assert occi.attribute(path, "occi.storage.state") == "online"


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_network_up_and_down(occi: OcciClient, cloud, media: str) -> None:
    path = occi.create(NETWORK)
    cloud.run_jobs()
    assert occi.attribute(path, "occi.network.state") == "active"
    occi.invoke(path, NETWORK_ACTION + "down", media=media)
    cloud.run_jobs()
    assert occi.attribute(path, "occi.network.state") == "inactive"
    occi.invoke(path, NETWORK_ACTION + "up", media=media)
    cloud.run_jobs()
    assert occi.attribute(path, "occi.network.state") == "active"


def test_links_have_no_actions(occi: OcciClient, cloud) -> None:
    network = occi.create(NETWORK)
    cloud.run_jobs()
    compute = occi.create(
        COMPUTE,
        links=[
            LinkRendering(
                target=network, kind="http://schemas.ogf.org/occi/infrastructure#networkinterface"
            )
        ],
    )
    cloud.run_jobs()
    (link,) = occi.read(compute).links
    occi.request("POST", f"{link.location}?action=up", status=400)


@pytest.mark.parametrize("accept", (TEXT_PLAIN, *JSON_MEDIA))
def test_an_action_on_a_kind_collection(occi: OcciClient, cloud, accept: str) -> None:
    paths = [occi.create(COMPUTE, {"occi.core.title": f"c{i}"}) for i in range(3)]
    cloud.run_jobs()
    response = occi.invoke("/compute/", COMPUTE_ACTION + "stop", accept=accept)
    if accept in JSON_MEDIA:
        assert len(collection_of(response).resources) == 3
    cloud.run_jobs()
    assert [occi.attribute(p, STATE) for p in paths] == ["inactive"] * 3
    assert {guest(cloud, p) for p in paths} == {PowerState.SHUTOFF}


@pytest.mark.parametrize("collection", ["/compute/", "mixin"])
@pytest.mark.parametrize(
    ("term", "method"), [("start", None), ("stop", None), ("stop", "poweroff")]
)
def test_a_collection_action_leaves_members_already_there(
    occi: OcciClient, cloud, collection: str, term: str, method: str | None
) -> None:
    running = occi.create(COMPUTE)
    stopped = occi.create(COMPUTE)
    cloud.run_jobs()
    occi.invoke(stopped, COMPUTE_ACTION + "stop")
    cloud.run_jobs()
    if collection == "mixin":
        collection = tagged(occi, [running, stopped])
    attributes = {"method": method} if method else {}
    occi.invoke(collection, COMPUTE_ACTION + term, attributes=attributes, status=200)
    cloud.run_jobs()
    want = "active" if term == "start" else "inactive"
    assert [occi.attribute(p, STATE) for p in (running, stopped)] == [want, want]


def tagged(occi: OcciClient, members: list[str]) -> str:
    """A user Mixin (a tag) with ``members``; its collection's path."""
    occi.define_tag("group", "/group/")
    occi.members("/group/", members, "POST")
    return "/group/"


@pytest.mark.parametrize("collection", ["/compute/", "mixin"])
def test_a_collection_action_refused_by_one_member_changes_nothing(
    occi: OcciClient, cloud, collection: str
) -> None:
    stopped = occi.create(COMPUTE)
    busy = occi.create(COMPUTE)
    cloud.run_jobs()
    occi.invoke(stopped, COMPUTE_ACTION + "stop")
    cloud.run_jobs()
    occi.invoke(busy, COMPUTE_ACTION + "restart")  # its job has not run: restarting
    if collection == "mixin":
        collection = tagged(occi, [stopped, busy])
    response = occi.invoke(collection, COMPUTE_ACTION + "start", status=409)
    assert busy.rsplit("/", 1)[1] in response.text  # the member that refused is named
    assert stopped.rsplit("/", 1)[1] not in response.text
    assert occi.read(stopped).actions  # no job was queued for it: still stopped, idle
    cloud.run_jobs()
    assert occi.attribute(stopped, STATE) == "inactive"
    assert occi.attribute(busy, STATE) == "active"


def test_a_collection_action_must_suit_every_member(occi: OcciClient, cloud) -> None:
    occi.create(COMPUTE)
    occi.create(NETWORK)
    cloud.run_jobs()
    occi.invoke("/resource/", COMPUTE_ACTION + "stop", status=400)
    occi.invoke("/storage/", STORAGE_ACTION + "online", status=200)  # empty: nothing to do
    occi.invoke("/storage/", COMPUTE_ACTION + "stop", status=400)


def test_a_failed_job_shows_in_state_message(occi: OcciClient, cloud, compute: str) -> None:
    # The host becomes unreachable: the restart fails, and the compute is in error
    # with the reason (GFD.224 1.2 state.message).
    with cloud.database.transaction() as session:
        session.execute(
            sa.update(Host).where(Host.name == "host-1").values(uri="test:///no/such/host.xml")
        )
    occi.invoke(compute, COMPUTE_ACTION + "restart")
    cloud.run_jobs()
    entity = occi.read(compute)
    assert entity.attributes[STATE] == "error"
    assert entity.attributes["occi.compute.state.message"]
    assert entity.actions == (COMPUTE_ACTION + "stop",)  # a forced stop: back to a known state


@pytest.mark.parametrize(
    "steps",
    [(), (("stop", None),), (("suspend", None),), (("suspend", "hibernate"),)],
    ids=["active", "inactive", "paused", "hibernated"],
)
def test_every_rendered_action_can_be_invoked_as_rendered(
    occi: OcciClient, cloud, steps: tuple[tuple[str, str | None], ...]
) -> None:
    # GFD.223 §3.7: the action links an entity renders are the ones applicable
    # now; each is POSTed exactly as rendered, without a body or a method.
    probe = occi.create(COMPUTE)
    cloud.run_jobs()
    for term, method in steps:
        occi.invoke(probe, COMPUTE_ACTION + term, attributes={"method": method} if method else {})
        cloud.run_jobs()
    terms = sorted(a.rsplit("#", 1)[-1] for a in occi.read(probe).actions)
    assert terms
    for term in terms:
        path = occi.create(COMPUTE)
        cloud.run_jobs()
        for step, method in steps:
            attributes = {"method": method} if method else {}
            occi.invoke(path, COMPUTE_ACTION + step, attributes=attributes)
            cloud.run_jobs()
        occi.request("POST", f"{path}?action={term}", status=200)
        cloud.run_jobs()
        assert occi.attribute(path, STATE) != "error", term


def test_suspend_without_a_method_keeps_memory(occi: OcciClient, cloud, compute: str) -> None:
    # docs/occi.rst: suspend with no method is method=suspend (memory kept in RAM).
    occi.request("POST", f"{compute}?action=suspend", status=200)
    cloud.run_jobs()
    assert (occi.attribute(compute, STATE), guest(cloud, compute)) == (
        "suspended",
        PowerState.PAUSED,
    )


def test_a_suspended_compute_is_never_rendered_active(occi: OcciClient, cloud, compute: str):
    occi.invoke(compute, COMPUTE_ACTION + "suspend")
    cloud.run_jobs()
    occi.invoke(compute, COMPUTE_ACTION + "suspend", attributes={"method": "hibernate"})
    assert occi.attribute(compute, STATE) == "suspended"  # while the job runs
    cloud.run_jobs()
    assert occi.attribute(compute, STATE) == "suspended"
    assert guest(cloud, compute) == PowerState.SUSPENDED


@pytest.mark.parametrize("accept", [TEXT_PLAIN, *JSON_MEDIA])
def test_errors_speak_occi(occi: OcciClient, cloud, compute: str, accept: str) -> None:
    response = occi.request(
        "POST", f"{compute}?action=start", headers={"Accept": accept}, status=409
    )
    uid = compute.rsplit("/", 1)[1]
    assert f"cannot start compute {uid}: it is active; applicable now: stop" in response.text
    big = occi.request(
        "POST",
        compute,
        headers={"Content-Type": TEXT_PLAIN, "Accept": accept},
        body="X-OCCI-Attribute: occi.compute.memory=999999999",
        status=409,
    )
    assert "it must be inactive" in big.text  # resized only when stopped
    for text in (response.text, big.text):
        for word in ("running", "vcpus", "memory_mib", "volume", "force_stop", "pause"):
            assert word not in text, (word, text)

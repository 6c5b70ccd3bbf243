"""IM's OCCI connector, installed unmodified from PyPI, drives a live ``concord serve --demo``.

IM (the Infrastructure Manager, PyPI ``im``) 1.19.1 is the last release with its
OCCI connector, ``IM/connectors/OCCI.py``: the client EGI's federated cloud sites
were driven with in production. It runs here as IM runs it, through
:class:`IM.CloudInfo.CloudInfo` and :class:`IM.VirtualMachine.VirtualMachine`,
with HTTP Basic, against a real server process on a real database with the
demo's simulated libvirt hosts: it launches a VM from an os_tpl and a
resource_tpl with a disk (a volume it creates first, linked inline to the
compute, both at ids IM chooses), polls its state, suspends, starts and
restarts it, adds a disk and a public IP, and deletes everything. Every
step must succeed as IM judges it, and Concord must hold nothing afterwards.

IM runs as :mod:`integration.im_client` says (the patches of the test process
are listed there).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

# The connector and what it runs with, from the installed `im` distribution.
from IM.auth import Authentication
from IM.CloudInfo import CloudInfo
from IM.VirtualMachine import VirtualMachine
from integration.im_client import (
    InfrastructureInfo,
    compute_request,
    occi_get,
    patch_im,
    wait_state,
)
from integration.processes import ManagedProcess, ProcessGroup
from radl import radl_parse

pytestmark = pytest.mark.integration


@pytest.fixture
def im_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    """IM's patches (integration.im_client), undone after the test."""
    patch_im(monkeypatch)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """``concord serve --demo`` on its own SQLite database and simulated hosts."""
    directory: Path = tmp_path_factory.mktemp("im-occi")
    group = ProcessGroup(directory, f"sqlite:///{directory / 'demo.sqlite'}")
    try:
        with group.explain_failure():
            server = group.start_demo()
            group.wait_healthy(server)
            yield server
    finally:
        assert group.stop_all() == []


def test_im_occi_connector_runs_its_whole_workflow(
    demo: ManagedProcess, im_patched: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="CloudConnector")
    base = demo.url
    auth = Authentication(
        [{"id": "concord", "type": "OCCI", "host": base, "username": "demo", "password": "demo"}]
    )
    (cloud,) = CloudInfo.get_cloud_list(auth)
    radl, image = compute_request(demo)
    infrastructure = InfrastructureInfo(radl, auth)
    connector = cloud.getCloudConnector(infrastructure)
    concrete = connector.concrete_system(radl.systems[0], image, auth)
    assert concrete is not None, "IM finds the image not to be this cloud's"
    radl.systems[0] = concrete

    # Launch from the os_tpl and the resource_tpl: POST /storage/ (IM's volume id),
    # then one POST /compute/ at IM's compute id with an inline link naming it.
    ((launched, vm),) = connector.launch(infrastructure, radl, radl.clone(), 1, auth)
    assert launched, vm
    assert vm.id.startswith("im-"), vm.id  # the id IM chose, honoured
    # Poll its state until IM reads it running, with the default network's address.
    wait_state(vm, auth, VirtualMachine.RUNNING, demo.tail)
    assert vm.getPrivateIP() and vm.getPrivateIP().startswith("10.1.0."), vm.getPrivateIP()
    assert vm.getPublicIP() is None
    assert vm.info.systems[0].getValue("cpu.count") == 1
    assert vm.info.systems[0].getFeature("memory.size").getValue("M") == 512

    # suspend (IM's stop), start, restart.
    for operation, state in (
        (connector.stop, VirtualMachine.STOPPED),
        (connector.start, VirtualMachine.RUNNING),
        (connector.reboot, VirtualMachine.RUNNING),
    ):
        done, detail = operation(vm, auth)
        assert done, detail
        wait_state(vm, auth, state, demo.tail)

    # Add a disk and a public IP (IM's alterVM: POST /storage/, wait for it to be
    # online, POST /storagelink/; then POST /networkinterface/ to the public network).
    change = radl_parse.parse_radl(
        """
        network public (outbound = 'yes')
        network private ()
        system node (
            net_interface.0.connection = 'public' and
            net_interface.1.connection = 'private' and
            disk.2.size = 1G and disk.2.device = 'hdc'
        )
        """
    )
    done, detail = connector.alterVM(vm, change, auth)
    assert done, detail
    wait_state(vm, auth, VirtualMachine.RUNNING, demo.tail)
    assert vm.getPublicIP() and vm.getPublicIP().startswith("203.0.113."), vm.getPublicIP()
    compute = occi_get(demo, f"/compute/{vm.id}")
    attached = connector.get_attached_volumes_from_info(compute)
    system = vm.info.systems[0]
    assert sorted((device, volume.rsplit("/", 1)[1]) for _link, volume, device in attached) == [
        ("/dev/vdb", system.getValue("disk.1.provider_id")),
        ("/dev/vdc", system.getValue("disk.2.provider_id")),
    ]
    assert all(link.startswith(f"{base}/storagelink/") for link, _, _ in attached)
    assert system.getValue("disk.1.provider_id").startswith("im-vol-")

    # Delete everything: the disk's link, the VM, the disk.
    done, detail = connector.finalize(vm, True, auth)
    assert done, detail
    for collection in ("compute", "storage", "storagelink", "networkinterface"):
        assert occi_get(demo, f"/{collection}/") == "", f"IM left a {collection} behind"
    # Nothing IM did was an error or a warning in IM's eyes.
    assert connector.error_messages == ""
    complaints = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert complaints == []

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

IM is patched in this process only, never in its files, for what is not
Concord's business:

* ``base64.encodestring``, which the connector signs Basic credentials with,
  was removed in Python 3.9: restored as ``base64.encodebytes``;
* ``IM.InfrastructureInfo`` imports ansible (IM's contextualisation, which an
  IaaS server never sees): a stand-in module provides the one class the
  connector and the VM objects are given, with IM's own VM numbering;
* IM's ``SSH_REVERSE_TUNNELS`` setting is off: with it on, the connector asks
  IM's REST service for a reverse-tunnel command to put in the cloud-init data.

How IM is installed (``--no-deps``: its declared dependencies include ansible,
boto3 and a dozen cloud SDKs the connector never imports) is in the Makefile's
``env`` target and setup.py's test extras.
"""

from __future__ import annotations

import base64
import logging
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The connector and what it runs with, from the installed `im` distribution.
from IM.auth import Authentication
from IM.CloudInfo import CloudInfo
from IM.config import Config
from IM.VirtualMachine import VirtualMachine
from integration.processes import ManagedProcess, ProcessGroup, basic_auth, http, wait_until
from radl import radl_parse

pytestmark = pytest.mark.integration

#: Seconds the guest has to reach a state IM waits for.
STATE_TIMEOUT = 60.0


class InfrastructureInfo:
    """The stand-in for ``IM.InfrastructureInfo.InfrastructureInfo`` (see the module docstring).

    What the connector and :class:`VirtualMachine` use of an infrastructure: its
    id, RADL and credentials, its VMs numbered as IM numbers them (``add_vm``),
    and a contextualisation that is never running.
    """

    def __init__(self, radl: Any, auth: Authentication) -> None:
        self.id = "concord-im-test"
        self.radl = radl
        self.auth = auth
        self.vm_list: list[VirtualMachine] = []
        self.vm_master = None

    def add_vm(self, vm: VirtualMachine) -> None:
        vm.creation_im_id = vm.im_id
        vm.im_id = len(self.vm_list)
        if vm.creation_im_id is None:
            vm.creation_im_id = vm.im_id
        self.vm_list.append(vm)

    def get_vm_list(self) -> list[VirtualMachine]:
        return list(self.vm_list)

    def is_configured(self) -> bool | None:
        return None

    def set_configured(self, state: bool | None) -> None:
        pass

    def vm_in_ctxt_tasks(self, vm: VirtualMachine) -> bool:
        return False

    def stop(self) -> None:
        pass


@pytest.fixture
def im_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    """The three patches of the module docstring, undone after the test."""
    monkeypatch.setattr(base64, "encodestring", base64.encodebytes, raising=False)
    stand_in = types.ModuleType("IM.InfrastructureInfo")
    stand_in.InfrastructureInfo = InfrastructureInfo  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IM.InfrastructureInfo", stand_in)
    monkeypatch.setattr(Config, "SSH_REVERSE_TUNNELS", False)


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


def _get(server: ManagedProcess, path: str) -> str:
    reply = http(
        "GET", server.url + path, headers={**basic_auth("demo", "demo"), "Accept": "text/plain"}
    )
    assert reply.status == 200, (path, reply.status, reply.text)
    return reply.text


def _template(query: str, parent: str, title: str) -> str:
    """The term of the template of ``parent`` (os_tpl, resource_tpl) whose title starts so."""
    for line in query.split("\n"):
        if f'rel="http://schemas.ogf.org/occi/infrastructure#{parent}"' in line and (
            f'title="{title}' in line
        ):
            return line.removeprefix("Category: ").split(";", 1)[0]
    raise AssertionError(f"no {parent} titled {title!r} at /-/")


def _wait_state(vm: VirtualMachine, auth: Authentication, wanted: str, server) -> None:
    def reached() -> bool:
        assert vm.update_status(auth, force=True)
        return vm.state == wanted

    wait_until(reached, STATE_TIMEOUT, f"the VM to be {wanted} as IM reads it", server.tail)


def test_im_occi_connector_runs_its_whole_workflow(
    demo: ManagedProcess, im_patched: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="CloudConnector")
    base = demo.url
    query = _get(demo, "/-/")
    os_tpl = _template(query, "os_tpl", "debian-12")
    small = _template(query, "resource_tpl", "small")
    auth = Authentication(
        [{"id": "concord", "type": "OCCI", "host": base, "username": "demo", "password": "demo"}]
    )
    (cloud,) = CloudInfo.get_cloud_list(auth)
    image = f"{base}/{os_tpl}"  # IM takes the os_tpl term from the image URL's last segment
    radl = radl_parse.parse_radl(
        f"""
        network private ()
        system node (
            cpu.arch = 'x86_64' and cpu.count >= 1 and memory.size >= 512m and
            instance_type = '{small}' and
            net_interface.0.connection = 'private' and
            disk.0.image.url = '{image}' and
            disk.0.os.credentials.username = 'cloudadm' and
            disk.1.size = 1G and disk.1.device = 'hdb'
        )
        """
    )
    radl.check()
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
    _wait_state(vm, auth, VirtualMachine.RUNNING, demo)
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
        _wait_state(vm, auth, state, demo)

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
    _wait_state(vm, auth, VirtualMachine.RUNNING, demo)
    assert vm.getPublicIP() and vm.getPublicIP().startswith("203.0.113."), vm.getPublicIP()
    compute = _get(demo, f"/compute/{vm.id}")
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
        assert _get(demo, f"/{collection}/") == "", f"IM left a {collection} behind"
    # Nothing IM did was an error or a warning in IM's eyes.
    assert connector.error_messages == ""
    complaints = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert complaints == []

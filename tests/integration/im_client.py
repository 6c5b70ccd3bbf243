"""IM's OCCI connector as IM runs it, for the integration tests that drive Concord with it.

IM (the Infrastructure Manager, PyPI ``im``) 1.19.1 is the last release with its
OCCI connector, ``IM/connectors/OCCI.py``: the client EGI's federated cloud sites
were driven with in production. The tests run it, installed unmodified, through
:class:`IM.CloudInfo.CloudInfo` and :class:`IM.VirtualMachine.VirtualMachine`.

IM is patched in the test process only, never in its files, for what is not
Concord's business (:func:`patch_im`):

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
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

# The connector and what it runs with, from the installed `im` distribution.
from IM.auth import Authentication
from IM.config import Config
from IM.VirtualMachine import VirtualMachine
from integration.processes import ManagedProcess, basic_auth, http, wait_until
from radl import radl_parse

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


def patch_im(monkeypatch: pytest.MonkeyPatch) -> None:
    """The three patches of the module docstring, undone with ``monkeypatch``."""
    monkeypatch.setattr(base64, "encodestring", base64.encodebytes, raising=False)
    stand_in = types.ModuleType("IM.InfrastructureInfo")
    stand_in.InfrastructureInfo = InfrastructureInfo  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IM.InfrastructureInfo", stand_in)
    monkeypatch.setattr(Config, "SSH_REVERSE_TUNNELS", False)


def occi_get(server: ManagedProcess, path: str, user: str = "demo", password: str = "demo") -> str:
    """The text/plain rendering of ``path``, read with HTTP Basic (200 asserted)."""
    reply = http(
        "GET", server.url + path, headers={**basic_auth(user, password), "Accept": "text/plain"}
    )
    assert reply.status == 200, (path, reply.status, reply.text)
    return reply.text


def template(query: str, parent: str, title: str) -> str:
    """The term of the template of ``parent`` (os_tpl, resource_tpl) whose title starts so."""
    for line in query.split("\n"):
        if f'rel="http://schemas.ogf.org/occi/infrastructure#{parent}"' in line and (
            f'title="{title}' in line
        ):
            return line.removeprefix("Category: ").split(";", 1)[0]
    raise AssertionError(f"no {parent} titled {title!r} at /-/")


def compute_request(server: ManagedProcess) -> tuple[Any, str]:
    """The RADL of one small debian-12 VM with a 1 GiB second disk, and its image URL.

    IM takes the os_tpl term from the image URL's last segment.
    """
    query = occi_get(server, "/-/")
    os_tpl = template(query, "os_tpl", "debian-12")
    small = template(query, "resource_tpl", "small")
    image = f"{server.url}/{os_tpl}"
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
    return radl, image


def wait_state(
    vm: VirtualMachine, auth: Authentication, wanted: str, explain: Callable[[], str]
) -> None:
    """Poll the VM as IM does until IM reads it in state ``wanted``."""

    def reached() -> bool:
        assert vm.update_status(auth, force=True)
        return vm.state == wanted

    wait_until(reached, STATE_TIMEOUT, f"the VM to be {wanted} as IM reads it", explain)

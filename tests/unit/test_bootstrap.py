"""`make serve` asks the system bootstrap only for the demo's packages; `make test` for all."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bootstrap-system.sh"
#: What only the tests need: the demo's hosts are libvirt's in-process test driver.
TEST_ONLY = {"mariadb-server", "mariadb-client", "qemu-system-x86", "qemu-utils", "libvirt-daemon"}


def _packages(*args: str) -> set[str]:
    result = subprocess.run(
        ["bash", str(SCRIPT), *args, "--list"], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_demo_profile_leaves_out_the_hypervisor_and_the_database() -> None:
    serve, test, default = _packages("serve"), _packages("test"), _packages()
    assert not serve & TEST_ONLY
    assert {"libvirt-dev", "python3-venv", "curl"} <= serve
    assert serve < test and test >= TEST_ONLY
    assert default == test  # .ci/run calls it without a profile


def test_an_unknown_profile_is_refused() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "demo"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown argument 'demo'" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("target", "profile"), [("serve", "serve"), ("test", "test"), ("unit", "test")]
)
def test_make_targets_ask_for_their_profile(target: str, profile: str) -> None:
    # -n prints the recipes without running them; -B so that nothing counts as done.
    result = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert f"bash scripts/bootstrap-system.sh {profile}\n" in result.stdout

"""Signed API-key requests end to end, as docs/security.rst shows them: ``concord apikey
sign`` prints the headers, curl sends them to a real ``concord serve --demo`` (waitress).

Real processes only: the CLI and the server are separate processes sharing the database
and the server key file; curl is the client. What this proves beyond the functional
tests: the raw request target waitress hands over (``REQUEST_URI``) is what the CLI
signed, and the OCCI header rendering of a create is covered by the signature.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.processes import ProcessFailure, ProcessGroup, run_cli

pytestmark = pytest.mark.integration

CATEGORY = 'compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"'


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProcessGroup, str]]:
    directory = tmp_path_factory.mktemp("signed")
    group = ProcessGroup(directory, f"sqlite:///{directory / 'demo.sqlite'}")
    try:
        server = group.start_demo("demo")
        with group.explain_failure():
            group.wait_healthy(server)
        yield group, server.url
    finally:
        assert group.stop_all() == []


def curl(url: str, signature: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    """Send with curl, the signature headers read from a file as the docs do; (status, body)."""
    assert shutil.which("curl"), "curl is installed by scripts/bootstrap-system.sh"
    headers = tmp_path / "signature.txt"
    headers.write_text(signature)
    result = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", "-H", f"@{headers}", *args, url],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


def sign(group: ProcessGroup, *args: str, **env: str) -> str:
    return run_cli({**group.env(), **env, "CONCORD_DEMO": "true"}, "apikey", "sign", *args)


def test_the_documented_get_runs_and_cannot_be_replayed(demo, tmp_path: Path) -> None:
    group, base = demo
    signature = sign(group, "--user", "demo", "GET", f"{base}/-/")
    assert signature.startswith('Signature-Input: concord=("@method" "@target-uri");created=')
    status, body = curl(f"{base}/-/", signature, tmp_path)
    assert status == 200, body
    status, body = curl(f"{base}/-/", signature, tmp_path)
    assert (status, body.strip()) == (401, "this signed request was already used (replay)")


def test_the_key_is_issued_once_and_kept(demo) -> None:
    group, base = demo
    first = sign(group, "--user", "demo", "GET", f"{base}/-/")
    second = sign(group, "--user", "demo", "GET", f"{base}/-/")
    key = re.compile(r'keyid="(CK[0-9A-F]+)"')
    assert key.findall(first) == key.findall(second) != []


def test_an_occi_create_is_signed_with_its_headers(demo, tmp_path: Path) -> None:
    group, base = demo
    url = f"{base}/compute/"
    fields = ["Content-Type: text/occi", f"Category: {CATEGORY}"]
    title = 'X-OCCI-Attribute: occi.core.title="signed"'
    options = [arg for field in [*fields, title] for arg in ("-H", field)]
    signature = sign(group, "--user", "demo", "POST", url, *options)
    # Altered in transit: another title than the one signed.
    tampered = [arg for f in [*fields, title.replace("signed", "evil")] for arg in ("-H", f)]
    status, _ = curl(url, signature, tmp_path, "-X", "POST", *tampered)
    assert status == 401
    status, body = curl(url, signature, tmp_path, "-X", "POST", *options)
    assert status == 201, body


def test_a_body_is_covered_by_its_digest(demo, tmp_path: Path) -> None:
    group, base = demo
    url = f"{base}/cimi/machines?$first=1&$last=1"
    body = tmp_path / "body.json"
    body.write_text('{"name": "x"}')
    signature = sign(
        group,
        "--user",
        "demo",
        "POST",
        url,
        "-H",
        "Content-Type: application/json",
        "--data-file",
        str(body),
    )
    assert "Content-Digest: sha-256=:" in signature
    sent = ["-H", "Content-Type: application/json", "--data-binary"]
    status, _ = curl(url, signature, tmp_path, *sent, '{"name": "y"}')
    assert status == 401
    # Past authentication: the server judges the (signed) document itself.
    status, answer = curl(url, signature, tmp_path, *sent, f"@{body}")
    assert status == 400 and "machineTemplate" in answer, answer


def test_a_client_key_signs_with_its_secret_from_the_environment(demo, tmp_path: Path) -> None:
    group, base = demo
    created = run_cli({**group.env(), "CONCORD_DEMO": "true"}, "apikey", "create", "demo")
    access_key = re.search(r"access key: (\S+)", created).group(1)
    secret = re.search(r"secret:\s+(\S+)", created).group(1)
    with pytest.raises(ProcessFailure, match="CONCORD_API_SECRET"):
        sign(group, "--access-key", access_key, "GET", f"{base}/-/")
    signature = sign(
        group, "--access-key", access_key, "GET", f"{base}/-/", CONCORD_API_SECRET=secret
    )
    assert curl(f"{base}/-/", signature, tmp_path)[0] == 200
    wrong = sign(group, "--access-key", access_key, "GET", f"{base}/-/", CONCORD_API_SECRET="x")
    assert curl(f"{base}/-/", wrong, tmp_path)[0] == 401

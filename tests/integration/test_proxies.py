"""The reverse-proxy examples of docs/security.rst, as written, in front of a real Concord.

Each example (``docs/examples/nginx.conf``, ``docs/examples/haproxy.cfg``) is
copied with only its machine-specific lines changed (ports, file paths, the
certificate; each change asserted to find its line, so the test follows the
file), validated by the proxy itself (``nginx -t``, ``haproxy -c``), then run
in front of ``concord serve --demo``: a Basic request, a CIMI document whose
URLs must carry the public URL, a request signed for the public URL
(``concord apikey sign``), and a body over the limit that the proxy refuses.
nginx and HAProxy are installed by scripts/bootstrap-system.sh.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from http.client import HTTPSConnection
from pathlib import Path

import pytest
from integration.processes import (
    REPO_ROOT,
    ProcessGroup,
    basic_auth,
    free_port,
    run_cli,
    wait_until,
)
from pki import loopback_server

pytestmark = pytest.mark.integration

EXAMPLES = REPO_ROOT / "docs" / "examples"


def adapted(example: str, changes: dict[str, str]) -> str:
    text = (EXAMPLES / example).read_text()
    for old, new in changes.items():
        assert old in text, f"{example} no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    directory = tmp_path_factory.mktemp("proxies")
    cert, key = loopback_server(directory)
    (directory / "concord.pem").write_bytes(cert.read_bytes() + key.read_bytes())
    ports = {"nginx": free_port(), "haproxy": free_port()}
    group = ProcessGroup(directory, f"sqlite:///{directory / 'demo.sqlite'}")
    servers = {}
    try:
        # One Concord per proxy, each with the public URL its proxy serves.
        for proxy, port in ports.items():
            servers[proxy] = group.start_demo(
                f"concord-{proxy}", public_url=f"https://127.0.0.1:{port}"
            )
            with group.explain_failure():
                group.wait_healthy(servers[proxy])
        yield {"dir": directory, "ports": ports, "servers": servers, "group": group}
    finally:
        assert group.stop_all() == []


def concord_port(setup: dict, proxy: str) -> str:
    return setup["servers"][proxy].url.rsplit(":", 1)[1]


def nginx_config(setup: dict) -> Path:
    d = setup["dir"]
    text = adapted(
        "nginx.conf",
        {
            "pid /run/concord-nginx.pid;": f"pid {d}/nginx.pid;",
            "/var/log/nginx/concord-error.log": f"{d}/nginx-error.log",
            "/var/log/nginx/concord-access.log": f"{d}/nginx-access.log",
            "listen 443 ssl;": f"listen 127.0.0.1:{setup['ports']['nginx']} ssl;",
            "server 127.0.0.1:8787;": f"server 127.0.0.1:{concord_port(setup, 'nginx')};",
            "/etc/concord/tls/cert.pem": f"{d}/server.pem",
            "/etc/concord/tls/key.pem": f"{d}/server.key",
        },
    )
    path = d / "nginx.conf"
    path.write_text(text)
    return path


def haproxy_config(setup: dict) -> Path:
    d = setup["dir"]
    text = adapted(
        "haproxy.cfg",
        {
            "bind :443 ssl crt /etc/concord/tls/concord.pem": (
                f"bind 127.0.0.1:{setup['ports']['haproxy']} ssl crt {d}/concord.pem"
            ),
            "server concord1 127.0.0.1:8787": (
                f"server concord1 127.0.0.1:{concord_port(setup, 'haproxy')}"
            ),
        },
    )
    path = d / "haproxy.cfg"
    path.write_text(text)
    return path


COMMANDS = {
    "nginx": (
        lambda conf: ["nginx", "-t", "-c", str(conf), "-p", str(conf.parent)],
        lambda conf: ["nginx", "-c", str(conf), "-p", str(conf.parent), "-g", "daemon off;"],
        nginx_config,
    ),
    "haproxy": (
        lambda conf: ["haproxy", "-c", "-f", str(conf)],
        lambda conf: ["haproxy", "-db", "-f", str(conf)],
        haproxy_config,
    ),
}


def _context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context


def refused_upload(port: int, path: str, headers: dict[str, str], size: int) -> bytes:
    """POST a body of ``size`` bytes; return the start of the answer.

    The proxy may answer and close before the body is all sent (it refuses
    from the declared length): a failure to send is not a failure, and the
    answer is read from what arrived.
    """
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {size}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    with _context().wrap_socket(raw) as sock:
        answer = b""
        with contextlib.suppress(OSError):  # ssl.SSLError is an OSError
            sock.sendall(head)
            sock.sendall(b"x" * size)
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    return answer


def fetch(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""):
    connection = HTTPSConnection("127.0.0.1", port, timeout=20, context=_context())
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("proxy", sorted(COMMANDS))
def test_the_example_proxy_configuration_works_in_front_of_concord(setup, proxy: str) -> None:
    check, run, config = COMMANDS[proxy]
    conf = config(setup)
    checked = subprocess.run(check(conf), capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr + checked.stdout
    port = setup["ports"][proxy]
    log = open(setup["dir"] / f"{proxy}.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(run(conf), stdout=log, stderr=subprocess.STDOUT)
    try:

        def up() -> bool:
            try:
                return fetch(port, "GET", "/healthz", {})[0] == 200
            except OSError:
                return False

        wait_until(up, 20, f"{proxy} to forward to Concord")
        public = f"https://127.0.0.1:{port}"
        basic = basic_auth("demo", "demo")
        status, _, body = fetch(port, "GET", "/-/", basic)
        assert status == 200, body
        status, _, body = fetch(
            port, "GET", "/cimi/cloudEntryPoint", {**basic, "Accept": "application/json"}
        )
        assert status == 200 and json.loads(body)["baseURI"] == public + "/cimi/", body
        # Signed for the public URL, as a client of the proxy sees it.
        env = {**setup["group"].env(), "CONCORD_DEMO": "true"}
        printed = run_cli(env, "apikey", "sign", "--user", "demo", "GET", f"{public}/-/")
        signed = dict(line.split(": ", 1) for line in printed.splitlines())
        assert fetch(port, "GET", "/-/", signed)[0] == 200
        # Over the limit: the proxy refuses before Concord reads anything.
        answer = refused_upload(
            port,
            "/cimi/machines",
            {**basic, "Content-Type": "application/json"},
            1024 * 1024 + 1,
        )
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        finally:
            log.close()

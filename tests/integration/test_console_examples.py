"""Every console example of the README and docs/ runs, as written, against a live demo.

For each document with runnable examples, a fresh ``concord serve --demo`` starts in a
temporary directory (as ``make serve`` does in a fresh clone: its own ``var/``), and the
document's commands run in order in a shell whose variables and working directory carry
over from one command to the next. Each command must exit as the document implies and print
what it shows (see ``tests/console_examples.py`` for the convention and the tolerance).

The demo listens on a free port rather than 8787 (several runs share this machine): the
runner writes that port wherever a command or its shown output says ``127.0.0.1:8787``.
Examples marked ``console-skip`` are reported as skipped, with their reason.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from console_examples import Command, Example, document_examples, documents, output_matches
from integration.processes import REPO_ROOT, demo_env, free_port, start_demo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Seconds one command may take (the conformance run is the longest).
COMMAND_TIMEOUT = 300.0
DOC_PORT = "127.0.0.1:8787"

ALL = {doc: document_examples(REPO_ROOT, doc) for doc in documents(REPO_ROOT)}
RUNNABLE = [doc for doc, examples in ALL.items() if any(not e.skip for e in examples)]
SKIPPED = [e for examples in ALL.values() for e in examples if e.skip]


class Shell:
    """A shell state in a directory: each command runs in a new bash that restores it."""

    def __init__(self, directory: Path, env: dict[str, str], port: int) -> None:
        self.directory = directory
        self.env = env
        self.port = port
        self.state = directory / ".console-state"
        self.state.mkdir()
        (self.state / "env").write_text("")
        (self.state / "cwd").write_text(str(directory))

    def run(self, command: Command) -> subprocess.CompletedProcess[str]:
        state = shlex.quote(str(self.state))
        text = command.text.replace(DOC_PORT, f"127.0.0.1:{self.port}")
        script = (
            f'. {state}/env\ncd "$(cat {state}/cwd)"\nset -a\n{text}\n__rc=$?\n'
            f"{{ export -p; declare -f; }} > {state}/env\npwd > {state}/cwd\nexit $__rc\n"
        )
        # A session of its own, so that a command that hangs is stopped with what it started.
        process = subprocess.Popen(
            ["bash", "-c", script],
            env=self.env,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            raise AssertionError(
                f"line {command.line}: $ {command.text}\n"
                f"did not finish in {COMMAND_TIMEOUT}s:\n{output}"
            ) from None
        return subprocess.CompletedProcess(process.args, process.returncode, output)


#: A file to write what each command printed to, instead of checking it: a writer's aid
#: for pasting real output into a document (docs/contributing.rst).
RECORD = os.environ.get("CONCORD_CONSOLE_RECORD", "")


def _record(
    example: Example, command: Command, result: subprocess.CompletedProcess[str], port: int
) -> None:
    output = result.stdout.replace(f"127.0.0.1:{port}", DOC_PORT)
    with open(RECORD, "a", encoding="utf-8") as record:
        record.write(f"# {example.path}:{command.line} exit {result.returncode}\n")
        record.write(f"$ {command.text}\n{output}\n")


def check(
    example: Example, command: Command, result: subprocess.CompletedProcess[str], port: int
) -> None:
    """Fail with the command, what it printed and what the document shows, if they differ."""
    output = result.stdout.replace(f"127.0.0.1:{port}", DOC_PORT)
    where = f"{example.path}:{command.line}: $ {command.text}"
    if command.expects_failure != (result.returncode != 0):
        want = "a non-zero status" if command.expects_failure else "status 0"
        raise AssertionError(
            f"{where}\nexited with {result.returncode}, the document implies {want}\n{output}"
        )
    if command.expected and not output_matches(command.expected, output):
        shown = "\n".join(command.expected)
        raise AssertionError(f"{where}\nprinted:\n{output}\nthe document shows:\n{shown}")


@pytest.mark.parametrize("document", RUNNABLE)
def test_console_examples_run(document: str, tmp_path: Path) -> None:
    """Start a fresh demo and run the document's examples in order."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    # The README runs .venv/bin/concord, as from a clone.
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = demo_env(home)
    port = free_port()
    server = start_demo(work, env, tmp_path / "demo.log", port)
    try:
        shell = Shell(work, env, port)
        for example in ALL[document]:
            if example.skip:
                continue
            for command in example.commands:
                result = shell.run(command)
                if RECORD:
                    _record(example, command, result, port)
                    continue
                try:
                    check(example, command, result, port)
                except AssertionError:
                    print(server.tail())
                    raise
    finally:
        server.stop()


@pytest.mark.parametrize("example", SKIPPED, ids=[e.where for e in SKIPPED])
def test_console_examples_skipped(example: Example) -> None:
    """An example marked ``console-skip`` is not run; say so, with the document's reason."""
    assert example.commands, f"{example.where}: a skipped example with no command"
    pytest.skip(f"{example.where}: {example.skip}")

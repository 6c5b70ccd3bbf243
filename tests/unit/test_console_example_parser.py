"""The console-example parser and matcher that tests/integration/test_console_examples.py uses."""

from __future__ import annotations

from console_examples import markdown_examples, output_matches, rst_examples

RST = """\
Intro.

.. code-block:: console

   $ B=http://127.0.0.1:8787
   $ curl -s $B/healthz \\
         --max-time 5
   {"status": "ok"}

   $ cat <<'EOF'
   $ not a command
   EOF
   $ echo done
   done

Text.

.. console-skip: needs a real KVM host
.. code-block:: console

   $ virsh list

   .. code-block:: console

      $ concord host list
      NAME  STATE
"""


def test_rst_blocks_commands_continuations_heredocs_and_skips() -> None:
    first, skipped, nested = rst_examples("doc.rst", RST)
    assert [c.text for c in first.commands] == [
        "B=http://127.0.0.1:8787",
        "curl -s $B/healthz \\\n      --max-time 5",
        "cat <<'EOF'\n$ not a command\nEOF",
        "echo done",
    ]
    assert first.commands[1].expected == ['{"status": "ok"}']
    assert first.commands[2].expected == [] and first.commands[3].expected == ["done"]
    assert first.skip is None and first.line == 3
    assert skipped.skip == "needs a real KVM host"
    assert [c.text for c in skipped.commands] == ["virsh list"]
    assert nested.commands[0].expected == ["NAME  STATE"] and nested.skip is None


def test_markdown_fences_and_skip_comment() -> None:
    text = (
        "<!-- console-skip: starts a server -->\n```console\n$ make serve\n```\n\n"
        "```console\n$ ls\nout\n```\n"
    )
    skipped, runnable = markdown_examples("README.md", text)
    assert skipped.skip == "starts a server" and runnable.skip is None
    assert runnable.commands[0].text == "ls" and runnable.commands[0].expected == ["out"]


def test_a_shown_error_means_a_failing_status() -> None:
    (example,) = rst_examples(
        "d.rst",
        ".. code-block:: console\n\n"
        "   $ concord x\n   concord: error: no\n   $ concord y\n   fine\n",
    )
    assert [c.expects_failure for c in example.commands] == [True, False]


def test_output_matching_tolerates_what_changes_and_nothing_else() -> None:
    shown = [
        "added host node1 (ad4aa0d1-c957-4ed9-87f0-3e564c21f73b) to cluster c1",
        "NAME   CREATED",
        "x      2026-11-21T22:58:52+00:00",
        "...",
        "password: <redacted>  (shown once)",
        "database upgraded from empty to 0004",
        "mac 52:54:00:3c:23:c4 path .../var/server.key",
    ]
    actual = (
        "added host node1 (0b0c6bb4-1111-4222-8333-944455556666) to cluster c1\n"
        "NAME CREATED\n"
        "x 2027-01-02T03:04:05+00:00\n"
        "extra line\n\nanother\n"
        "password: Zq9-xx  (shown once)\n"
        "database upgraded from empty to 0007\n"
        "mac 52:54:00:aa:bb:cc path /tmp/w/var/server.key\n"
    )
    assert output_matches(shown, actual)
    assert not output_matches(shown, actual.replace("cluster c1", "cluster c2"))
    assert not output_matches(shown, actual + "trailing\n")
    assert not output_matches(
        shown[:2], "added host node1 (not-a-uuid) to cluster c1\nNAME CREATED"
    )
    assert output_matches(["..."], "")
    assert not output_matches(["HTTP/1.1 200 OK"], "")

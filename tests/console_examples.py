"""The console examples of the README and ``docs/*.rst``: finding them, running them, checking them.

The convention (docs/contributing.rst says the same for writers):

* a runnable example is a ``.. code-block:: console`` directive in reStructuredText, or a
  fenced block opened with ```` ```console ```` in Markdown;
* in it, a line starting with ``$ `` is a command; a command continues on the next line when
  it ends with a backslash, and through the body of a here-document (``<<'EOF'`` ... ``EOF``);
  every other line, up to the next command, is the output the command shows;
* an example that cannot run against the demo says why in a comment on the line just before
  it: ``.. console-skip: <reason>`` (reStructuredText) or ``<!-- console-skip: <reason> -->``
  (Markdown). The runner skips it and reports the reason.

Commands of one document run in order, in one shell state (variables and the working
directory carry over from one command to the next), against a fresh ``concord serve --demo``.

A command passes when its exit status is right (non-zero when its shown output has a line
``concord: error: ...`` or ``usage: ...``, zero otherwise) and, when the document shows
output, the output matches it (:func:`output_matches`) with a tolerance for what changes from
run to run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: The marker of an example the runner skips, with its reason.
SKIP_RST = re.compile(r"^\s*\.\. console-skip:\s*(?P<reason>\S.*?)\s*$")
SKIP_MD = re.compile(r"^\s*<!--\s*console-skip:\s*(?P<reason>\S.*?)\s*-->\s*$")
DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. code-block:: console\s*$")
FENCE_OPEN = re.compile(r"^```console\s*$")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>[A-Za-z_][A-Za-z0-9_]*)\1")


@dataclass
class Command:
    """One ``$ `` command of an example and the output the document shows for it."""

    text: str
    line: int
    expected: list[str] = field(default_factory=list)

    @property
    def expects_failure(self) -> bool:
        """Whether the shown output says the command fails (a CLI error or usage message)."""
        return any(
            line.lstrip().startswith(("concord: error:", "usage:")) for line in self.expected
        )


@dataclass
class Example:
    """One console block: where it is, its commands, and why it is skipped (if it is)."""

    path: str
    line: int
    commands: list[Command]
    skip: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def parse_commands(lines: list[str], first_line: int) -> list[Command]:
    """Split a block's lines (already dedented) into commands and their shown output."""
    commands: list[Command] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            if commands:
                commands[-1].expected.append(line)
            elif line.strip():
                raise ValueError(f"line {first_line + index}: output before any command: {line!r}")
            index += 1
            continue
        start = index
        text = [line[2:]]
        while text[-1].endswith("\\") and index + 1 < len(lines):
            index += 1
            text.append(lines[index])
        heredoc = HEREDOC.search("\n".join(text))
        if heredoc is not None:
            word = heredoc.group("word")
            while index + 1 < len(lines):
                index += 1
                text.append(lines[index])
                if lines[index].strip() == word:
                    break
        commands.append(Command("\n".join(text), first_line + start))
        index += 1
    for command in commands:
        while command.expected and not command.expected[-1].strip():
            command.expected.pop()
    return commands


def _skip_reason(lines: list[str], index: int, pattern: re.Pattern[str]) -> str | None:
    # The nearest non-blank line before the block's opening line.
    for previous in reversed(lines[:index]):
        if previous.strip():
            found = pattern.match(previous)
            return found.group("reason") if found else None
    return None


def rst_examples(path: str, text: str) -> list[Example]:
    """The ``.. code-block:: console`` blocks of a reStructuredText document."""
    lines = text.splitlines()
    examples = []
    for index, line in enumerate(lines):
        directive = DIRECTIVE.match(line)
        if directive is None:
            continue
        indent = len(directive.group("indent"))
        body: list[str] = []
        end = index + 1
        while end < len(lines):
            candidate = lines[end]
            if candidate.strip() and len(candidate) - len(candidate.lstrip()) <= indent:
                break
            body.append(candidate)
            end += 1
        content = [b for b in body if b.strip()]
        margin = min((len(b) - len(b.lstrip()) for b in content), default=0)
        body = [b[margin:] if b.strip() else "" for b in body]
        while body and not body[0].strip():
            body.pop(0)
        first = index + 2 + next((i for i, b in enumerate(lines[index + 1 :]) if b.strip()), 0)
        examples.append(
            Example(
                path,
                index + 1,
                parse_commands(body, first),
                _skip_reason(lines, index, SKIP_RST),
            )
        )
    return examples


def markdown_examples(path: str, text: str) -> list[Example]:
    """The ```` ```console ```` fenced blocks of a Markdown document."""
    lines = text.splitlines()
    examples = []
    index = 0
    while index < len(lines):
        if FENCE_OPEN.match(lines[index]):
            end = index + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            examples.append(
                Example(
                    path,
                    index + 1,
                    parse_commands(lines[index + 1 : end], index + 2),
                    _skip_reason(lines, index, SKIP_MD),
                )
            )
            index = end
        index += 1
    return examples


def document_examples(root: Path, relative: str) -> list[Example]:
    """Every console example of one document (by its path relative to ``root``)."""
    text = (root / relative).read_text(encoding="utf-8")
    if relative.endswith(".md"):
        return markdown_examples(relative, text)
    return rst_examples(relative, text)


def documents(root: Path) -> list[str]:
    """The documents whose examples are run: README.md and docs/*.rst, in that order."""
    return ["README.md", *sorted(str(p.relative_to(root)) for p in (root / "docs").glob("*.rst"))]


# -- matching ------------------------------------------------------------------------

#: What changes from one run to the next, and matches any value of its kind.
_VOLATILE = [
    (re.compile(r"\.\.\.|…"), r".*?"),
    (re.compile(r"<redacted>"), r"\S+"),
    (
        re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    ),
    (
        re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"),
        r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?",
    ),
    (re.compile(r"\b[0-9a-f]{32}\b"), r"[0-9a-f]{32}"),
    (re.compile(r"\bCK[0-9A-F]{20}\b"), r"CK[0-9A-F]{20}"),
    (re.compile(r"\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b"), r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}"),
    # Schema revisions: the head moves with every migration that lands.
    (re.compile(r"\b0\d{3}\b"), r"0\d{3}"),
]
_TOKENS = re.compile("|".join(f"(?:{p.pattern})" for p, _ in _VOLATILE))


def normalise(line: str) -> str:
    """A line with its runs of white space made one space (table widths vary)."""
    return " ".join(line.split())


def line_pattern(expected: str) -> re.Pattern[str]:
    """The regular expression one shown output line stands for."""
    text = normalise(expected)
    parts: list[str] = []
    position = 0
    for token in _TOKENS.finditer(text):
        parts.append(re.escape(text[position : token.start()]))
        for pattern, replacement in _VOLATILE:
            if pattern.fullmatch(token.group()):
                parts.append(replacement)
                break
        position = token.end()
    parts.append(re.escape(text[position:]))
    return re.compile("".join(parts))


def output_matches(expected: Iterable[str], actual: str) -> bool:
    """Whether ``actual`` output is what the document shows as ``expected``.

    Blank lines are ignored and runs of white space count as one space. A shown line of
    ``...`` alone stands for any number of lines; within a line, ``...`` (or ``…``) stands for
    any text, ``<redacted>`` for any word, and UUIDs, timestamps, 32-digit hexadecimal
    ids, MAC addresses, API access keys and four-digit schema revisions (``0004``) for any value of
    their kind. Every other character must match.
    """
    wanted = [normalise(e) for e in expected if e.strip()]
    got = [normalise(a) for a in actual.splitlines() if a.strip()]
    patterns = [None if w in ("...", "…") else line_pattern(w) for w in wanted]
    # reachable[j]: the first i shown lines can match the first j output lines.
    reachable = [True] + [False] * len(got)
    for pattern in patterns:
        following = [False] * (len(got) + 1)
        for j in range(len(got) + 1):
            if pattern is None:
                following[j] = reachable[j] or (j > 0 and following[j - 1])
            elif j > 0 and reachable[j - 1] and pattern.fullmatch(got[j - 1]):
                following[j] = True
        reachable = following
    return reachable[len(got)]

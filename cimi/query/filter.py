"""The ``$filter`` parser (DSP0263 4.1.6.1): text -> :mod:`cimi.query.nodes` tree.

Grammar (the 1.x grammar as cimi.md 2.10 transcribes it, written without
left recursion and parsed with loops, so time is linear in the input)::

    Filter    ::= AndExpr ( 'or' AndExpr )*
    AndExpr   ::= Primary ( 'and' Primary )*
    Primary   ::= '(' Filter ')' | Attribute Op Value | Value Op Attribute
                | 'property' '[' String ']' Op String
    Op        ::= '=' | '!=' | '<' | '<=' | '>' | '>='
    Attribute ::= Name ( '/' Name )*         Name ::= [A-Za-z_][A-Za-z0-9_]*   (5.2)
    Value     ::= String | Integer | Decimal | DateTime | 'true' | 'false'
    String    ::= '...' | "..."              a backslash escapes the next character
    Integer   ::= '-'? [0-9]+                Decimal ::= '-'? [0-9]+ '.' [0-9]+
    DateTime  ::= YYYY-MM-DD ( 'T' hh:mm:ss ( '.' fraction )? zone )?

``and`` binds tighter than ``or``. Keywords (``and``, ``or``, ``true``,
``false``) are lower case and are never attribute names. Decisions beyond the
1.x text (see ``docs/``): decimals and negative numbers are accepted; nested
attributes use ``/``; a date alone means midnight UTC; a time needs a zone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from cimi.codec.scalars import INT_MAX, INT_MIN, ScalarError, parse_datetime
from cimi.errors import QueryError
from cimi.query.nodes import (
    And,
    Attribute,
    Comparison,
    Literal,
    LiteralType,
    Node,
    Op,
    Operand,
    Or,
    Property,
)

#: The longest ``$filter`` accepted, in characters.
MAX_LENGTH = 8192
#: The deepest nesting of parentheses accepted.
MAX_DEPTH = 32

_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<datetime>[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9:.]*(?:Z|[+-][0-9]{2}:[0-9]{2})?)?)
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[()\[\]])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE | re.DOTALL,
)
_WORD_CHAR = re.compile(r"[A-Za-z0-9_.]")
_KEYWORDS = frozenset({"and", "or", "true", "false"})
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, datetime, number, op, punct, name, keyword, end
    text: str
    pos: int


def _error(pos: int, message: str) -> QueryError:
    return QueryError(f"invalid $filter at position {pos + 1}: {message}")


def _tokens(text: str) -> list[_Token]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] in "'\"":
                raise _error(pos, "unterminated string")
            raise _error(pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        assert kind is not None  # noqa: S101 (every alternative is a named group)
        end = m.end()
        if kind in ("number", "datetime") and end < len(text) and _WORD_CHAR.match(text, end):
            raise _error(pos, f"malformed value {text[pos : end + 1]!r}")
        if kind == "name" and m.group() in _KEYWORDS:
            kind = "keyword"
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = end
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _unquote(text: str) -> str:
    return _ESCAPE.sub(r"\1", text[1:-1])


def _literal(token: _Token) -> Literal:
    text = token.text
    if token.kind == "string":
        return Literal(LiteralType.STRING, _unquote(text))
    if token.kind == "keyword":
        return Literal(LiteralType.BOOLEAN, text == "true")
    if token.kind == "number":
        if "." in text:
            return Literal(LiteralType.DECIMAL, Decimal(text))
        if len(text.lstrip("-").lstrip("0")) > 19 or not INT_MIN <= int(text) <= INT_MAX:
            raise _error(token.pos, f"integer {text} is out of range")
        return Literal(LiteralType.INTEGER, int(text))
    if "T" not in text:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise _error(token.pos, f"invalid date {text!r}") from None
        return Literal(LiteralType.DATETIME, dt.datetime.combine(day, dt.time(), dt.UTC))
    try:
        return Literal(LiteralType.DATETIME, parse_datetime(text))
    except ScalarError as exc:
        raise _error(token.pos, str(exc)) from None


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def accept(self, kind: str, text: str) -> bool:
        if self.token.kind == kind and self.token.text == text:
            self.index += 1
            return True
        return False

    def expect(self, kind: str, text: str, what: str) -> None:
        if not self.accept(kind, text):
            raise _error(self.token.pos, f"expected {what}, found {self._found()}")

    def _found(self) -> str:
        return "the end" if self.token.kind == "end" else repr(self.token.text)

    def filter(self) -> Node:
        terms = [self.and_expr()]
        while self.accept("keyword", "or"):
            terms.append(self.and_expr())
        return _combine(Or, terms)

    def and_expr(self) -> Node:
        terms = [self.primary()]
        while self.accept("keyword", "and"):
            terms.append(self.primary())
        return _combine(And, terms)

    def primary(self) -> Node:
        start = self.token
        if self.accept("punct", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _error(start.pos, f"parentheses nested deeper than {MAX_DEPTH}")
            node = self.filter()
            self.expect("punct", ")", "')'")
            self.depth -= 1
            return node
        if start.kind == "name" and start.text == "property" and self.peek_bracket():
            return self.property_comparison()
        left = self.operand()
        op = self.op()
        right = self.operand()
        if isinstance(left, Literal) == isinstance(right, Literal):
            raise _error(start.pos, "a comparison needs one attribute and one value")
        return Comparison(left, op, right)

    def peek_bracket(self) -> bool:
        following = self.tokens[self.index + 1]
        return following.kind == "punct" and following.text == "["

    def property_comparison(self) -> Comparison:
        self.index += 2  # 'property' '['
        key = self.token
        if key.kind != "string":
            raise _error(key.pos, "property[...] needs a quoted key")
        self.index += 1
        self.expect("punct", "]", "']'")
        op = self.op()
        value = self.token
        if value.kind != "string":
            raise _error(value.pos, "a property is compared with a quoted string")
        self.index += 1
        return Comparison(Property(_unquote(key.text)), op, _literal(value))

    def op(self) -> Op:
        token = self.token
        if token.kind != "op":
            raise _error(token.pos, f"expected a comparison operator, found {self._found()}")
        self.index += 1
        return Op(token.text)

    def operand(self) -> Operand:
        token = self.token
        if token.kind == "name":
            self.index += 1
            return Attribute(tuple(token.text.split("/")))
        if token.kind in ("string", "number", "datetime") or (
            token.kind == "keyword" and token.text in ("true", "false")
        ):
            self.index += 1
            return _literal(token)
        raise _error(token.pos, f"expected an attribute or a value, found {self._found()}")


def _combine(kind: type[And] | type[Or], terms: list[Node]) -> Node:
    if len(terms) == 1:
        return terms[0]
    flat: list[Node] = []
    for term in terms:  # (a and b) and c == a and b and c
        flat.extend(term.terms if isinstance(term, kind) else (term,))
    return kind(tuple(flat))


def parse_filter(text: str) -> Node:
    """Parse one ``$filter`` expression.

    :raises QueryError: with the position and cause of the first error.
    """
    if len(text) > MAX_LENGTH:
        raise QueryError(f"$filter longer than {MAX_LENGTH} characters")
    parser = _Parser(text)
    if parser.token.kind == "end":
        raise QueryError("$filter is empty")
    node = parser.filter()
    if parser.token.kind != "end":
        raise _error(parser.token.pos, f"unexpected {parser._found()}")
    return node

"""The ``$filter`` grammar: vectors, precedence, errors, printing, and fuzzing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimi.codec.scalars import INT_MAX, INT_MIN
from cimi.errors import QueryError
from cimi.query import (
    And,
    Attribute,
    Comparison,
    Literal,
    LiteralType,
    Node,
    Op,
    Or,
    Property,
    parse_filter,
    to_string,
)
from cimi.query.filter import MAX_DEPTH, MAX_LENGTH


def cmp(name: str, op: str, value: object, kind: LiteralType = LiteralType.INTEGER) -> Comparison:
    return Comparison(Attribute(tuple(name.split("/"))), Op(op), Literal(kind, value))  # type: ignore[arg-type]


A, B, C, D = cmp("alpha", "=", 3), cmp("beta", "=", 4), cmp("gamma", "=", 5), cmp("delta", "=", 6)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("alpha=3", A),
        ("  alpha = 3  ", A),
        ("(alpha=3)", A),
        ("((alpha=3))", A),
        ("3=alpha", Comparison(Literal(LiteralType.INTEGER, 3), Op.EQ, Attribute(("alpha",)))),
        ("alpha=3 and beta=4", And((A, B))),
        ("alpha=3 or beta=4", Or((A, B))),
        ("alpha=3 and beta=4 or gamma=5 and delta=6", Or((And((A, B)), And((C, D))))),
        ("alpha=3 or beta=4 and gamma=5", Or((A, And((B, C))))),
        ("alpha=3 and (beta=4 or gamma=5) and delta=6", And((A, Or((B, C)), D))),
        ("(alpha=3 and beta=4) and gamma=5", And((A, B, C))),
        ("alpha=3 or (beta=4 or gamma=5)", Or((A, B, C))),
        ("(alpha=3 or beta=4) and gamma=5", And((Or((A, B)), C))),
        ("name='web'", cmp("name", "=", "web", LiteralType.STRING)),
        ('name="web"', cmp("name", "=", "web", LiteralType.STRING)),
        (r"name='it\'s'", cmp("name", "=", "it's", LiteralType.STRING)),
        (r'name="say \"hi\" \\o/"', cmp("name", "=", 'say "hi" \\o/', LiteralType.STRING)),
        ("name=''", cmp("name", "=", "", LiteralType.STRING)),
        ("cpu!=2", cmp("cpu", "!=", 2)),
        ("cpu<2", cmp("cpu", "<", 2)),
        ("cpu<=2", cmp("cpu", "<=", 2)),
        ("cpu>2", cmp("cpu", ">", 2)),
        ("cpu>=2", cmp("cpu", ">=", 2)),
        ("cpu>-2", cmp("cpu", ">", -2)),
        ("cpu=2.50", cmp("cpu", "=", Decimal("2.50"), LiteralType.DECIMAL)),
        ("bootable=true", cmp("bootable", "=", True, LiteralType.BOOLEAN)),
        ("bootable=false", cmp("bootable", "=", False, LiteralType.BOOLEAN)),
        ("machineConfig/cpu=2", cmp("machineConfig/cpu", "=", 2)),
        (
            "created>2012-01-02T13:14:25.6+02:30",
            cmp(
                "created",
                ">",
                dt.datetime(2012, 1, 2, 13, 14, 25, 600000, dt.timezone(dt.timedelta(minutes=150))),
                LiteralType.DATETIME,
            ),
        ),
        (
            "created>2012-01-02",
            cmp("created", ">", dt.datetime(2012, 1, 2, tzinfo=dt.UTC), LiteralType.DATETIME),
        ),
        (
            "property['beta']='4'",
            Comparison(Property("beta"), Op.EQ, Literal(LiteralType.STRING, "4")),
        ),
        (
            'property["a b"] != "x"',
            Comparison(Property("a b"), Op.NE, Literal(LiteralType.STRING, "x")),
        ),
        ("property=3", cmp("property", "=", 3)),
        ("_x1=3", cmp("_x1", "=", 3)),
    ],
)
def test_valid_filters(text: str, tree: Node) -> None:
    assert parse_filter(text) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("()", "position 2: expected an attribute or a value"),
        ("alpha=beta", "one attribute and one value"),
        ("3=3", "one attribute and one value"),
        ("alpha&&4", "unexpected character '&'"),
        ("alpha==4", "expected an attribute or a value, found '='"),
        ("alpha=3 and", "found the end"),
        ("alpha=3 or or beta=4", "found 'or'"),
        ("alpha=3 beta=4", "unexpected 'beta'"),
        ("(alpha=3", r"expected '\)'"),
        ("alpha=3)", r"unexpected '\)'"),
        ("alpha", "expected a comparison operator"),
        ("alpha=", "found the end"),
        ("alpha='unterminated", "unterminated string"),
        ("alpha=3and beta=4", "malformed value '3a'"),
        ("alpha=3.2.1", "malformed value"),
        ("alpha=.5", "unexpected character '.'"),
        ("alpha=TRUE", "one attribute and one value"),
        ("and=3", "found 'and'"),
        ("true=false", "one attribute and one value"),
        ("property[beta]='4'", "needs a quoted key"),
        ("property['beta']=4", "compared with a quoted string"),
        ("property['beta'='4'", "expected ']'"),
        ("created>2012-01-02T13:14:25", "needs a time zone|with a time zone"),
        ("created>2012-13-02", "invalid date"),
        ("created>2012-01-02T25:00:00Z", "invalid dateTime"),
        ("cpu=99999999999999999999", "out of range"),
        ("a/=3", "unexpected character '/'"),
        ("a.b=3", "unexpected character '.'"),
    ],
)
def test_invalid_filters(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_filter(text)


def test_limits() -> None:
    with pytest.raises(QueryError, match="longer than"):
        parse_filter("a=1 and " * (MAX_LENGTH // 8) + "a=1")
    deep = "(" * (MAX_DEPTH + 1) + "a=1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(QueryError, match="nested deeper"):
        parse_filter(deep)
    ok = "(" * MAX_DEPTH + "a=1" + ")" * MAX_DEPTH
    assert parse_filter(ok) == cmp("a", "=", 1)


def test_long_flat_filters_parse_in_linear_time() -> None:
    text = " or ".join(f"a{i}={i} and b{i}='x'" for i in range(300))
    tree = parse_filter(text)
    assert isinstance(tree, Or) and len(tree.terms) == 300


def test_printing_is_canonical() -> None:
    text = "(alpha = 3 or beta=4)and gamma='it\\'s' and property[\"k\"]!='v'"
    assert to_string(parse_filter(text)) == (
        "(alpha=3 or beta=4) and gamma='it\\'s' and property['k']!='v'"
    )


# ------------------------------------------------------------------ property tests

KEYWORDS = {"and", "or", "true", "false"}
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True).filter(
    lambda n: n not in KEYWORDS
)
attributes = st.lists(names, min_size=1, max_size=3).map(lambda p: Attribute(tuple(p)))
zones = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
literals = st.one_of(
    st.text(max_size=8).map(lambda s: Literal(LiteralType.STRING, s)),
    st.integers(INT_MIN, INT_MAX).map(lambda i: Literal(LiteralType.INTEGER, i)),
    st.decimals(min_value=-(10**9), max_value=10**9, places=3).map(
        lambda d: Literal(LiteralType.DECIMAL, d)
    ),
    st.booleans().map(lambda b: Literal(LiteralType.BOOLEAN, b)),
    st.datetimes(
        min_value=dt.datetime(1000, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=zones
    ).map(lambda d: Literal(LiteralType.DATETIME, d)),
)
ops = st.sampled_from(list(Op))
comparisons = st.one_of(
    st.builds(Comparison, attributes, ops, literals),
    st.builds(Comparison, literals, ops, attributes),
    st.builds(
        Comparison,
        st.text(max_size=6).map(Property),
        ops,
        st.text(max_size=6).map(lambda s: Literal(LiteralType.STRING, s)),
    ),
)


def combine(kind: type[And] | type[Or], terms: list[Node]) -> Node:
    flat: list[Node] = []
    for term in terms:
        flat.extend(term.terms if isinstance(term, kind) else (term,))
    return kind(tuple(flat))


trees = st.recursive(
    comparisons,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda t: combine(And, t)),
        st.lists(children, min_size=2, max_size=3).map(lambda t: combine(Or, t)),
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_printed_trees_parse_back_equal(tree: Node) -> None:
    assert parse_filter(to_string(tree)) == tree


FRAGMENTS = [
    "a", "b/c", "property", "[", "]", "'x'", '"y\\"', "'", "(", ")", "=", "!=", "<", "<=", ">",
    ">=", "and", "or", "true", "false", "3", "-4", "2.5", "2012-01-02", "2012-01-02T10:00:00Z",
    " ", "\\", ".", "/", "&", "é",
]  # fmt: skip


def parses_or_refuses(text: str) -> None:
    try:
        tree = parse_filter(text)
    except QueryError:
        return
    assert isinstance(tree, Comparison | And | Or)
    assert parse_filter(to_string(tree)) == tree


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_query_error(text: str) -> None:
    parses_or_refuses(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_token_soup_parses_or_raises_query_error(fragments: list[str]) -> None:
    parses_or_refuses("".join(fragments))
    parses_or_refuses(" ".join(fragments))

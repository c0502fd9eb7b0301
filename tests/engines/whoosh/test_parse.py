"""The contract's query language as Whoosh queries (one table), with bounded expansions."""

from __future__ import annotations

from typing import Any

import pytest
from whoosh.filedb.filestore import RamStorage

from search.deadline import Deadline
from search.engines.whoosh.parse import QueryBuilder, positive_terms
from search.engines.whoosh.schema import build_schema
from search.errors import InvalidQuery
from search.query import language as ql
from search.query.language import MAX_EXPANSIONS


def compiled(builder: QueryBuilder, q: str, reader: Any, match: str = "all") -> Any:
    """``q`` parsed as the service parses it, compiled for Whoosh."""
    tree = ql.parse(q) if match == "all" else ql.plain(q)
    return builder.compile(tree, reader, Deadline.after(60))


@pytest.fixture(scope="module")
def reader() -> Any:
    """A tiny in-memory index whose vocabulary the expansions run over."""
    index = RamStorage().create_index(build_schema())
    with index.writer() as writer:
        writer.add_document(
            id="1",
            title="Starmer visits Paris",
            body="kushner kushnir " + " ".join(f"alpha{i}" for i in range(MAX_EXPANSIONS + 50)),
            people="Keir Starmer",
        )
    return index.reader()


@pytest.fixture(scope="module")
def builder() -> QueryBuilder:
    return QueryBuilder(build_schema())


PARSED = [
    ("brexit vote", "(text:brexit AND text:vote)"),
    ('"paris declaration"', 'text:"pari declar"'),
    ("title:budget", "title:budget"),
    ("people:starmer", "people:starmer"),
    ("body:elections", "body:elect"),
    ("trump's", "text:trump"),
    ("brexit OR vote", "(text:brexit OR text:vote)"),
    ("war-torn", "(text:war AND text:torn)"),
    ("macron -kushner", "(text:macron AND NOT text:kushner)"),
    ("macron NOT kushner", "(text:macron AND NOT text:kushner)"),
    ("date:[2026-01-01 TO 2026-01-31]", "date:[2026-01-01 TO 2026-01-31]"),
    ("date:2026-01-06", "date:2026-01-06"),
    ("body:kushn*", "(body:kushner OR body:kushnir)"),
    ("body:kushnr~", "(body:kushner OR body:kushnir)"),
    ("body:nothing*", "<_NullQuery>"),
    ("id:secret", "(text:id AND text:secret)"),
]  # fmt: skip


@pytest.mark.parametrize(("q", "expected"), PARSED)
def test_parse(builder: QueryBuilder, reader: Any, q: str, expected: str) -> None:
    assert str(compiled(builder, q, reader)) == expected


@pytest.mark.parametrize("q", ["", "   ", "*"])
def test_empty_query_means_every_document(builder: QueryBuilder, reader: Any, q: str) -> None:
    assert compiled(builder, q, reader) is None


def test_bag_of_words_matches_any(builder: QueryBuilder, reader: Any) -> None:
    assert " OR " in str(compiled(builder, "brexit vote", reader, match="any")).replace(
        ") OR (", "|"
    )


def test_expansions_are_capped(builder: QueryBuilder, reader: Any) -> None:
    for q in ("body:alpha*", "body:*a*"):
        parsed = compiled(builder, q, reader)
        assert parsed is not None and len(list(parsed.children())) == MAX_EXPANSIONS


@pytest.mark.parametrize(
    ("q", "hint"),
    [
        ('"unclosed phrase', "unbalanced double quote"),
        ("(a OR b", "unbalanced ()"),
        ("a) b", "unbalanced ()"),
        ("date:[2026-01-01 TO 2026-13-40]", "ISO dates"),
        ("date:[yesterday TO today]", "ISO dates"),
    ],
)
def test_queries_that_cannot_be_understood(
    builder: QueryBuilder, reader: Any, q: str, hint: str
) -> None:
    with pytest.raises(
        InvalidQuery, match=hint.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        compiled(builder, q, reader)


def test_negated_words_are_not_highlight_terms(builder: QueryBuilder, reader: Any) -> None:
    parsed = compiled(builder, "macron -kushner", reader)
    assert parsed is not None
    assert {text for _, text in positive_terms(parsed)} == {"macron"}

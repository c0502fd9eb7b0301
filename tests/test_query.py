"""Request parameters in, a validated ``SearchRequest`` out; balanced-query checks."""

from __future__ import annotations

from typing import Any

import pytest

from search.errors import InvalidParameter, InvalidQuery
from search.query import (
    SearchRequest,
    bag_of_words,
    check_balanced,
    is_or_of_words,
    parse_request,
    query_words,
)


@pytest.mark.parametrize(
    ("q", "hint"),
    [
        ('"unclosed phrase', "unbalanced double quote"),
        ("(a OR b", "unbalanced"),
        ("a) b", "unbalanced"),
    ],
)
def test_unbalanced_queries_are_named(q: str, hint: str) -> None:
    with pytest.raises(InvalidQuery, match=hint):
        check_balanced(q)


REQUESTS = [
    ({}, SearchRequest()),
    ({"q": "a\x00b", "page": "2", "per_page": "100"}, SearchRequest(q="a b", page=2, per_page=100)),
    ({"people": ["Keir Starmer", "Emmanuel Macron"]}, SearchRequest(people=("Keir Starmer", "Emmanuel Macron"))),
    ({"from": "2026-01-01", "to": "2026-01-31", "sort": "-date"}, SearchRequest(date_from="2026-01-01", date_to="2026-01-31", sort="-date")),
    ({"facets": "people,month", "collapse": "true"}, SearchRequest(facets=("people", "month"), collapse=True)),
    ({"match": "any"}, SearchRequest(match="any", expand=True)),
]  # fmt: skip


@pytest.mark.parametrize(("params", "expected"), REQUESTS)
def test_parse_request(params: dict[str, Any], expected: SearchRequest) -> None:
    assert parse_request(params) == expected


BAD_PARAMETERS = [
    ({"page": "0"}, "page"),
    ({"page": "two"}, "page"),
    ({"per_page": "101"}, "per_page"),
    ({"per_page": "-1"}, "per_page"),
    ({"from": "2026-02-30"}, "from"),
    ({"to": "01/02/2026"}, "to"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
    ({"sort": "oldest"}, "sort"),
    ({"facets": "people,colour"}, "facets"),
    ({"collapse": "maybe"}, "collapse"),
    ({"q": "x" * 5000}, "q"),
    ({"q": ["a", "b"]}, "q"),
    ({"match": "some"}, "match"),
]


@pytest.mark.parametrize(("params", "name"), BAD_PARAMETERS)
def test_bad_parameters_are_named(params: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        parse_request(params)
    assert error.value.parameter == name


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("a OR b", True),
        ("brexit OR vote OR o'neill", True),
        ("a OR", False),
        ("a b", False),
        ("a OR b AND c", False),
        ("title:a OR b", False),
        ('"a b" OR c', False),
        ("a* OR b", False),
    ],
)
def test_only_plain_words_joined_by_or_are_a_bag_of_words(q: str, expected: bool) -> None:
    assert is_or_of_words(q) is expected
    assert parse_request({"q": q}).match == ("any" if expected else "all")


def test_bag_of_words_keeps_short_queries_whole_and_repeats() -> None:
    assert bag_of_words("The Who") == ["the", "who"]
    assert bag_of_words("TSS OR tss") == ["tss", "tss"]
    long = "What articles exist which deal with TSS, the Time Sharing System? TSS only."
    assert bag_of_words(long) == ["articles", "exist", "deal", "tss", "time", "sharing",
                                  "system", "tss"]  # fmt: skip
    formula = "Algorithms for the solution of x to the power 2 in plan B"
    assert bag_of_words(formula) == ["algorithms", "solution", "power", "plan"]
    assert bag_of_words("plan B") == ["plan", "b"]


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("Kushnr stake", ["Kushnr", "stake"]),
        # A name with an apostrophe is one word, as the index has it.
        ("Brian O'Driscoll", ["Brian", "O'Driscoll"]),
        # No syntax, numbers or scraps: fields, ranges, operators, wildcards, fuzzy marks.
        ("title:budget date:[2025-01-01 TO 2025-02-01] NOT tax", ["budget", "tax"]),
        ("gotemoeller~ paris* 2004 a OR of", []),
    ],
)
def test_the_words_a_suggestion_may_correct_are_the_index_s_words(q: str, words: list[str]) -> None:
    assert query_words(q) == words

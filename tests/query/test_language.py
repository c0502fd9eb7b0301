"""The contract's ``q`` as a tree (one table of what users type and what it means),
and every other reading of ``q``: balance, bags of words, words to suggest for."""

from __future__ import annotations

import pytest

from search.deadline import Deadline
from search.errors import InvalidQuery, SearchTimeout
from search.model import And, DateRange, Every, Node, Not, Or, Pattern, Phrase, Word
from search.query import language as ql
from search.query.language import bag_of_words, check_balanced, is_or_of_words, query_words
from search.query.params import parse_request

W, P, Pat = Word, Phrase, Pattern

PARSED = [
    ("brexit vote", And((W("brexit"), W("vote")))),
    ('"paris declaration"', P("paris declaration")),
    ("title:budget", W("budget", "title")),
    ('title:"spring budget"', P("spring budget", "title")),
    ("title:(blair OR brown)", Or((W("blair", "title"), W("brown", "title")))),
    ('body:("tax cut" -vat)', And((P("tax cut", "body"), Not(W("vat", "body"))))),
    ("date:(2026-01-06)", DateRange("2026-01-06", "2026-01-06")),
    ("brexit OR vote", Or((W("brexit"), W("vote")))),
    ("a OR b c", And((Or((W("a"), W("b"))), W("c")))),
    ("a AND b OR c", Or((And((W("a"), W("b"))), W("c")))),
    ("macron -kushner", And((W("macron"), Not(W("kushner"))))),
    ("macron NOT kushner", And((W("macron"), Not(W("kushner"))))),
    ("+macron", W("macron")),
    ("(a OR b) -(c d)", And((Or((W("a"), W("b"))), Not(And((W("c"), W("d"))))))),
    ("war-torn", W("war-torn")),
    ("elect*", Pat("prefix", "elect")),
    ("*ing", Pat("wildcard", "*ing")),
    ("b?air", Pat("wildcard", "b?air")),
    ("body:kushnr~", Pat("fuzzy", "kushnr", "body", 1)),
    ("gotemoeler~2", Pat("fuzzy", "gotemoeler", None, 2)),
    ("gotemoeler~5", Pat("fuzzy", "gotemoeler", None, 2)),
    ("date:2026-01-06", DateRange("2026-01-06", "2026-01-06")),
    ("date:[2026-01-01 TO 2026-01-31]", DateRange("2026-01-01", "2026-01-31")),
    ("date:[2026-01-01 TO ]", DateRange("2026-01-01", None)),
    ("date:[2026-01-01 TO *]", DateRange("2026-01-01", None)),
    ("date:[* TO 2026-01-31]", DateRange(None, "2026-01-31")),
    ("id:secret", W("id:secret")),
    ("", Every()),
    ("*", Every()),
]  # fmt: skip


@pytest.mark.parametrize(("q", "expected"), PARSED)
def test_parse(q: str, expected: Node) -> None:
    assert ql.parse(q) == expected


def test_bag_of_words_joins_clauses_with_or() -> None:
    assert ql.parse("brexit vote", match="any") == Or((W("brexit"), W("vote")))


@pytest.mark.parametrize(
    ("q", "hint"),
    [('"open', "unbalanced double quote"), ("(a", "unbalanced"),
     ("date:[2026-13-40 TO 2026-01-01]", "ISO dates"), ("date:[yesterday TO today]", "ISO dates")],
)  # fmt: skip
def test_what_cannot_be_understood_is_named(q: str, hint: str) -> None:
    with pytest.raises(InvalidQuery, match=hint):
        ql.parse(q)


def test_expansions_are_capped_each_and_in_all() -> None:
    budget = ql.Expansions(Deadline.after(60))
    assert len(budget.take(iter(range(10_000)))) == ql.MAX_EXPANSIONS
    for _ in range(ql.MAX_QUERY_EXPANSIONS // ql.MAX_EXPANSIONS - 1):
        budget.take(iter(range(10_000)))
    with pytest.raises(InvalidQuery, match="expand to over"):
        budget.take(iter(range(1)))


def test_expansions_stop_at_the_deadline() -> None:
    budget = ql.Expansions(Deadline.after(0.0))
    with pytest.raises(SearchTimeout):
        list(budget.scanned(range(10)))


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

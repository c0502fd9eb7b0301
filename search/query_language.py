"""The contract's ``q`` language as a small tree, for engines whose own parsers differ.

The grammar (``search.query`` lists what users type)::

    query    := clause*                      joined by AND (``match="all"``) or OR
    clause   := conjunct ("OR" conjunct)*
    conjunct := unary ("AND" unary)*
    unary    := ("NOT" | "-" | "+") unary | atom
    atom     := "(" query ")" | [field ":"] (phrase | range | word | "(" query ")")

A word ending in ``*`` is a prefix, one with ``*`` or ``?`` inside a wildcard, one
ending in ``~`` or ``~2`` fuzzy (a larger ``~N`` is ``~2``, as Lucene takes it).
Leaves keep the text as typed; analysis (case, stemming, stop words) is the
engine's, so each engine means by a word what its index means by it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from typing import TypeVar

from search.deadline import Deadline
from search.errors import InvalidQuery
from search.query import QUERY_FIELDS, check_balanced, is_iso_date

# Prefix, wildcard and fuzzy words expand over the vocabulary: at most this many
# words each and in all, and the deadline is checked every so many words scanned.
MAX_EXPANSIONS = 200
MAX_QUERY_EXPANSIONS = 2000
DEADLINE_CHECK_EVERY = 256

TOKEN = re.compile(
    r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<phrase>"[^"]*")|(?P<range>\[[^\]]*\])'
    r"|(?P<word>[^\s()\"\[\]]+))"
)
T = TypeVar("T")
FIELD = re.compile(rf"^({'|'.join(QUERY_FIELDS)}):(.*)$")
RANGE = re.compile(r"^(.*?)\s*\bTO\b\s*(.*)$")
DATE_RANGE_HINT = "date range needs ISO dates like date:[2026-01-01 TO 2026-01-31]"
FUZZY = re.compile(r"^(.+?)~(\d*)$")
# More edits match most of a vocabulary's short words: "brown~3" found 2,037 of the
# BBC set's 2,225 articles.
MAX_FUZZY_EDITS = 2


@dataclass(frozen=True)
class Word:
    """A word (or a hyphenated run of words) in ``field``, or in every text field."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class Phrase:
    text: str
    field: str | None = None


@dataclass(frozen=True)
class Pattern:
    """``kind`` is ``prefix`` (``text*``), ``wildcard`` (``*`` and ``?``) or ``fuzzy``."""

    kind: str
    text: str
    field: str | None = None
    distance: int = 1


@dataclass(frozen=True)
class DateRange:
    start: str | None
    end: str | None


@dataclass(frozen=True)
class Every:
    """Every document (an empty query, ``*``)."""


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Word | Phrase | Pattern | DateRange | Every | And | Or | Not


class Expansions:
    """What is left of one query's expansion budget, and its deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.left = MAX_QUERY_EXPANSIONS

    def take(self, words: Iterable[T]) -> list[T]:
        """At most ``MAX_EXPANSIONS`` of ``words``, counted against the query's budget.

        Raises:
            InvalidQuery: the query's expansions passed ``MAX_QUERY_EXPANSIONS``.
            SearchTimeout: the deadline passed first.
        """
        self.deadline.check()
        taken = list(islice(words, MAX_EXPANSIONS))
        self.left -= len(taken)
        if self.left < 0:
            raise InvalidQuery(
                f"the query's wildcards and fuzzy words expand to over {MAX_QUERY_EXPANSIONS} "
                "words; use fewer or longer ones"
            )
        return taken

    def scanned(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, checking the deadline every ``DEADLINE_CHECK_EVERY``."""
        for count, item in enumerate(items):
            if count % DEADLINE_CHECK_EVERY == 0:
                self.deadline.check()
            yield item


def parse(q: str, match: str = "all") -> Node:
    """The tree of ``q``.

    Raises:
        InvalidQuery: unbalanced quotes or brackets, a malformed date range.
    """
    if q.strip() in ("", "*", "*:*"):
        return Every()
    check_balanced(q)
    parser = _Parser(_tokens(q), match)
    node = parser.query()
    return node


def _tokens(q: str) -> list[tuple[str, str]]:
    tokens = []
    for found in TOKEN.finditer(q):
        kind = found.lastgroup
        if kind is not None:
            tokens.append((kind, found.group(kind)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], match: str) -> None:
        self.tokens = tokens
        self.at = 0
        self.match = match

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _is_operator(self, name: str) -> bool:
        token = self._peek()
        return token is not None and token == ("word", name)

    def query(self) -> Node:
        clauses: list[Node] = []
        while (token := self._peek()) is not None and token[0] != "close":
            clauses.append(self.clause())
        return _joined(clauses, And if self.match == "all" else Or)

    def clause(self) -> Node:
        return self._chain("OR", self.conjunct, Or)

    def conjunct(self) -> Node:
        return self._chain("AND", self.unary, And)

    def _chain(
        self, operator: str, operand: Callable[[], Node], kind: type[And] | type[Or]
    ) -> Node:
        """Operands joined by ``operator``; a trailing operator is ignored."""
        parts = [operand()]
        while self._is_operator(operator):
            self.at += 1
            if self._peek() is None or self._peek() == ("close", ")"):
                break
            parts.append(operand())
        return _joined(parts, kind)

    def unary(self) -> Node:
        token = self._peek()
        if token == ("word", "NOT"):
            self.at += 1
            return Not(self.unary()) if self._peek() is not None else Word("NOT")
        if token is not None and token[0] == "word" and token[1][:1] in "-+":
            sign, rest = token[1][0], token[1][1:]
            if rest:
                self.tokens[self.at] = ("word", rest)
            else:  # a sign before a group or a phrase
                self.at += 1
                if self._peek() is None:
                    return Word(sign)
            node = self.unary()
            return Not(node) if sign == "-" else node
        return self.atom()

    def atom(self) -> Node:
        kind, text = self.tokens[self.at]
        self.at += 1
        if kind == "open":
            node = self.query()
            if self._peek() == ("close", ")"):
                self.at += 1
            return node
        if kind == "close":
            return Every()
        if kind == "phrase":
            return Phrase(text.strip('"'))
        if kind == "range":
            return _date_range(text)
        field_match = FIELD.match(text)
        if field_match is None:
            return _word(text, None)
        field, rest = field_match.groups()
        if not rest and self._peek() == ("open", "("):
            return _in_field(self.atom(), field)
        if not rest and self._peek() is not None and self._peek()[0] in ("phrase", "range"):  # type: ignore[index]
            kind, rest = self.tokens[self.at]
            self.at += 1
            if kind == "range":
                return _date_range(rest) if field == "date" else Word(rest.strip("[]"), field)
            return Phrase(rest.strip('"'), field)
        if field == "date":
            return DateRange(rest, rest) if is_iso_date(rest) else Word(rest, "date")
        return _word(rest, field) if rest else Word(field)


def _in_field(node: Node, field: str) -> Node:
    """A group's words, phrases and patterns restricted to ``field``, as Lucene reads
    ``title:(a OR b)`` (before, "title" was a word of its own)."""
    if isinstance(node, And | Or):
        return type(node)(tuple(_in_field(part, field) for part in node.parts))
    if isinstance(node, Not):
        return Not(_in_field(node.part, field))
    if not isinstance(node, Word | Phrase | Pattern) or node.field is not None:
        return node
    if field == "date" and is_iso_date(node.text):
        return DateRange(node.text, node.text)
    return replace(node, field=field)


def _word(text: str, field: str | None) -> Node:
    fuzzy = FUZZY.match(text)
    if fuzzy is not None:
        edits = min(int(fuzzy.group(2) or 1), MAX_FUZZY_EDITS)
        return Pattern("fuzzy", fuzzy.group(1), field, edits)
    if text.endswith("*") and "*" not in text[:-1] and "?" not in text and len(text) > 1:
        return Pattern("prefix", text[:-1], field)
    if ("*" in text or "?" in text) and text.strip("*?"):
        return Pattern("wildcard", text, field)
    return Word(text, field)


def _date_range(text: str) -> DateRange:
    ends = RANGE.match(text.strip("[]").strip())
    if ends is None:
        raise InvalidQuery(f"{DATE_RANGE_HINT}, got {text!r}")
    start, end = ends.groups()
    return DateRange(date_range_end(start), date_range_end(end))


def date_range_end(text: str | None) -> str | None:
    """One end of a date range, ``None`` when open: left empty or written "*", as in
    Lucene's and Elasticsearch's syntax.

    Raises:
        InvalidQuery: the end is not an ISO date.
    """
    value = (text or "").strip()
    if value in ("", "*"):
        return None
    if not is_iso_date(value):
        raise InvalidQuery(f"{DATE_RANGE_HINT}, got {value!r}")
    return value


def _joined(parts: list[Node], kind: type[And] | type[Or]) -> Node:
    parts = [part for part in parts if not isinstance(part, Every)] or parts
    if not parts:
        return Every()
    return parts[0] if len(parts) == 1 else kind(tuple(parts))

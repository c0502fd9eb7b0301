"""The contract's ``q`` language: the one module that reads ``q``.

``parse`` makes the tree every engine compiles (``search.engines.*.parse``); the
other readings of ``q`` (a bag of words, the words to suggest for, balance) are here
too, most of them walks of the tree. What users type::

    brexit vote                all words must match, best first
    "exact phrase"             a phrase
    a OR b, NOT a, -a, +a      boolean operators; -a excludes, +a requires
    title: body: people:       one field; date:2026-01-06 and date:[A TO B] (an
                               open end is * or empty) for dates
    pref*, w?ld*card, word~    prefix, wildcard, fuzzy (1 edit; ~2 for 2)
    (a OR b) c                 grouping; title:(a OR b) puts the group in a field

The grammar::

    query    := clause*                      joined by AND (``match="all"``) or OR
    clause   := conjunct ("OR" conjunct)*
    conjunct := unary ("AND" unary)*
    unary    := ("NOT" | "-" | "+") unary | atom
    atom     := "(" query ")" | [field ":"] (phrase | range | word | "(" query ")")

A word ending in ``*`` is a prefix, one with ``*`` or ``?`` inside a wildcard, one
ending in ``~`` or ``~2`` fuzzy (a larger ``~N`` is ``~2``, as Lucene takes it).
Leaves keep the text as typed; analysis (case, stemming, stop words) is the
engine's, so each engine means by a word what its index means by it; where the
engines' analyses differ, their compilers decide alike (a word of one letter or
digit is not searched for on either), and a table of queries over the BBC set
checks that both find as many articles (``tests/query/test_language_parity.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import date
from itertools import islice
from typing import TypeVar

from search.analysis import TOKEN_PATTERN, english_stop_words, fold_case
from search.deadline import Deadline
from search.errors import InvalidQuery
from search.model import And, DateRange, Every, Node, Not, Or, Pattern, Phrase, Word

TEXT_FIELDS = ("title", "body", "people")
# How much a match in each text field counts, on every engine (a word searched in
# the fields one at a time; the all-text terms count the title twice themselves).
FIELD_WEIGHTS = {"title": 2.0, "body": 1.0, "people": 1.5}
QUERY_FIELDS = (*TEXT_FIELDS, "date")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PLAIN_WORD = re.compile(r"\w+(?:['’]\w+)*")
# From this many words on, a bag of words is a question or a paragraph, not a
# headline search, and loses its stop words (docs/relevance.md).
LONG_QUESTION_WORDS = 5
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


def plain(q: str) -> Node:
    """A bag of words (``match="any"``): the text's words, none of them syntax, any
    may match; a repeated word stays repeated (``bag_of_words``)."""
    words = [Word(word) for word in bag_of_words(q)]
    if not words:
        return Every()
    return words[0] if len(words) == 1 else Or(tuple(words))


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


def is_iso_date(text: str) -> bool:
    if not DATE_RE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_balanced(q: str) -> None:
    """Raises:
    InvalidQuery: a quote, bracket or parenthesis is left open or closed twice.
    """
    if q.count('"') % 2:
        raise InvalidQuery('unbalanced double quote: close the phrase with another "')
    for opening, closing in (("(", ")"), ("[", "]")):
        depth = 0
        for ch in q:
            depth += (ch == opening) - (ch == closing)
            if depth < 0:
                break
        if depth:
            raise InvalidQuery(f"unbalanced {opening}{closing}: every {opening} needs a {closing}")


def is_or_of_words(q: str) -> bool:
    """``a OR b OR c``: plain words joined by OR, which matches what ``match="any"``
    matches, and so is ranked as the same bag of words."""
    if " OR " not in q:
        return False
    try:
        node = parse(q)
    except InvalidQuery:
        return False
    return isinstance(node, Or) and all(
        isinstance(part, Word) and part.field is None and PLAIN_WORD.fullmatch(part.text)
        for part in node.parts
    )


def bag_of_words(q: str) -> list[str]:
    """The words of a ``match="any"`` text, lower-cased, none of them syntax.

    A repeated word stays repeated: a question that names a thing twice is more
    about it (measured on CACM). The operator ``OR`` is not a word (``a OR b`` is
    this same bag). In a long question, English stop words go ("what articles
    deal with ..."), and so do words of one letter or digit (the "x" and "2" of a
    formula: CACM 0.503 -> 0.515 nDCG@10 on the Xapian engine; the Whoosh engine's
    analysis drops them everywhere); a short news query keeps every word ("the who").
    """
    words = [fold_case(word) for word in PLAIN_WORD.findall(q) if word != "OR"]
    if len(words) < LONG_QUESTION_WORDS:
        return words
    stop = english_stop_words()
    return [word for word in words if word not in stop and len(word) > 1]


# Of letters only, so numbers get no suggestion; "O'Driscoll" whole (not "Driscoll",
# a word no article has, which sent suggestions through the whole vocabulary).
_LETTERS = re.compile(r"[^\W\d_]+(?:[.'’][^\W\d_]+)*")
_WORD = re.compile(TOKEN_PATTERN)
OPERATORS = ("AND", "OR", "NOT", "TO")


def query_words(q: str) -> list[str]:
    """The plain words a person typed, for suggestions: those of the tree's words and
    phrases (no operators, dates, wildcards or fuzzy words), negated ones included."""
    try:
        node = parse(q)
    except InvalidQuery:
        return []
    words = (
        word
        for leaf in leaves(node)
        if isinstance(leaf, Word | Phrase) and leaf.field != "date"
        for word in _WORD.findall(leaf.text)
    )
    return [w for w in words if len(w) >= 3 and _LETTERS.fullmatch(w) and w not in OPERATORS]


def leaves(node: Node) -> Iterator[Node]:
    """The tree's leaves, left to right (negated ones included)."""
    if isinstance(node, And | Or):
        for part in node.parts:
            yield from leaves(part)
    elif isinstance(node, Not):
        yield from leaves(node.part)
    else:
        yield node

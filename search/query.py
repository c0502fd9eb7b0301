"""User input into engine queries: the ``/search`` parameters and the ``q`` language.

``parse_request`` validates every parameter and names the bad one; ``QueryBuilder``
turns ``q`` into a Whoosh query with the syntax of the contract:

========================  =====================================================
``brexit vote``           all words must match, best first (``match="any"``: any
                          may; the text is then plain words, no syntax)
``"exact phrase"``        phrase
``a OR b``, ``NOT a``     boolean operators; ``-a`` excludes, ``+a`` requires
``title:``/``body:``      field restriction; also ``people:`` and ``date:``
``pref*``, ``word~``      prefix/wildcard and fuzzy (edit distance 1, ``~2`` for 2)
``date:[A TO B]``         inclusive date range, ISO dates
========================  =====================================================

Expansions (prefix, wildcard, fuzzy) are capped at ``MAX_EXPANSIONS`` words each and
``MAX_QUERY_EXPANSIONS`` in all, and stop at the request's deadline, so one query
cannot fan out over the whole vocabulary. Input that cannot be understood
(unbalanced quotes or brackets, a malformed date) raises ``InvalidQuery`` with a hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any

from whoosh import qparser
from whoosh import query as wq

from search.deadline import Deadline
from search.errors import InvalidParameter, InvalidQuery

MAX_Q_CHARS = 4000
MAX_PER_PAGE = 100
MAX_PAGE = 1000
MAX_EXPANSIONS = 200
MAX_QUERY_EXPANSIONS = 2000
DEADLINE_CHECK_EVERY = 256
EXPANDING = (wq.Prefix, wq.Wildcard, wq.FuzzyTerm, wq.Regex)
SORTS = ("relevance", "date", "-date")
MATCHES = ("all", "any")
FACETS = ("people", "month", "year")
TEXT_FIELDS = ("title", "body", "people")
QUERY_FIELDS = (*TEXT_FIELDS, "date")
FIELD_BOOSTS = {"title": 2.0, "body": 1.0, "people": 1.5}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PLAIN_WORD = re.compile(r"\w+(?:['’]\w+)*")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PARAMETERS = (
    "q", "people", "from", "to", "sort", "page", "per_page", "facets", "collapse", "match",
)  # fmt: skip
# The search page sets its own page size and facets.
PAGE_PARAMETERS = tuple(p for p in PARAMETERS if p not in ("per_page", "facets"))


@dataclass(frozen=True)
class SearchRequest:
    """A validated search: what ``/search`` accepts, engine-neutral."""

    q: str = ""
    people: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    facets: tuple[str, ...] = ()
    collapse: bool = False
    match: str = "all"
    highlight: bool = True
    suggest: bool = True
    expand: bool = False


def parse_request(params: Mapping[str, str | Sequence[str]]) -> SearchRequest:
    """Validate query-string parameters into a ``SearchRequest``.

    Raises:
        InvalidParameter: naming the first parameter that is malformed or out of range.
    """
    q = _single(params, "q") or ""
    if len(q) > MAX_Q_CHARS:
        raise InvalidParameter("q", f"at most {MAX_Q_CHARS} characters")
    date_from = _date_param(params, "from")
    date_to = _date_param(params, "to")
    if date_from and date_to and date_from > date_to:
        raise InvalidParameter("from", "must not be after 'to'")
    sort = _single(params, "sort") or "relevance"
    if sort not in SORTS:
        raise InvalidParameter("sort", f"one of {', '.join(SORTS)}")
    match = _single(params, "match") or "all"
    if match not in MATCHES:
        raise InvalidParameter("match", f"one of {', '.join(MATCHES)}")
    facets = tuple(
        name.strip()
        for value in param_values(params, "facets")
        for name in value.split(",")
        if name.strip()
    )
    for name in facets:
        if name not in FACETS:
            raise InvalidParameter("facets", f"unknown facet {name!r}; use {', '.join(FACETS)}")
    people = tuple(p.strip() for p in param_values(params, "people") if p.strip())
    return SearchRequest(
        q=CONTROL.sub(" ", q).strip(),
        people=people,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=_int_param(params, "page", 1, 1, MAX_PAGE),
        per_page=_int_param(params, "per_page", 10, 1, MAX_PER_PAGE),
        facets=tuple(dict.fromkeys(facets)),
        collapse=_bool_param(params, "collapse"),
        match=match,
    )


def check_known(params: Mapping[str, object], allowed: Sequence[str] = PARAMETERS) -> None:
    """Reject a parameter that is not ``allowed``, so a typo like ``pgae=2`` is not
    silently ignored.

    Raises:
        InvalidParameter: naming the first unknown parameter.
    """
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; use {', '.join(allowed)}")


def param_values(params: Mapping[str, str | Sequence[str]], name: str) -> list[str]:
    """Every value given for ``name`` (a repeated parameter comes as a list)."""
    value = params.get(name)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _single(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    values = param_values(params, name)
    if len(values) > 1:
        raise InvalidParameter(name, "give it once")
    return values[0] if values else None


def _int_param(
    params: Mapping[str, str | Sequence[str]], name: str, default: int, low: int, high: int
) -> int:
    raw = _single(params, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, f"must be a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise InvalidParameter(name, f"must be between {low} and {high}")
    return value


def _bool_param(params: Mapping[str, str | Sequence[str]], name: str) -> bool:
    raw = (_single(params, name) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise InvalidParameter(name, "must be true or false")
    return raw in ("true", "1")


def _date_param(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    raw = _single(params, name)
    if not raw:
        return None
    if not is_iso_date(raw):
        raise InvalidParameter(name, f"must be a date YYYY-MM-DD, got {raw[:40]!r}")
    return raw


def is_iso_date(text: str) -> bool:
    if not DATE_RE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class QueryBuilder:
    """Parses ``q`` against one schema; cheap to keep per worker."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._parsers = {match: self._parser(match) for match in MATCHES}

    def _parser(self, match: str) -> qparser.QueryParser:
        group = qparser.AndGroup if match == "all" else qparser.OrGroup
        parser = qparser.MultifieldParser(
            list(TEXT_FIELDS), self.schema, fieldboosts=FIELD_BOOSTS, group=group
        )
        parser.remove_plugin_class(qparser.SingleQuotePlugin)
        parser.remove_plugin_class(qparser.FieldsPlugin)
        parser.add_plugin(qparser.FieldsPlugin(expr=rf"(?P<text>{'|'.join(QUERY_FIELDS)}):"))
        parser.add_plugin(qparser.FuzzyTermPlugin())
        # -word/+word only at the start of a word, so dates and hyphenated words stay whole.
        parser.add_plugin(qparser.PlusMinusPlugin(r"(?<![^\s(])\+", r"(?<![^\s(])-"))
        return parser

    def parse(
        self, q: str, reader: Any, match: str = "all", deadline: Deadline | None = None
    ) -> wq.Query | None:
        """The engine query for ``q``; None means every document.

        Raises:
            InvalidQuery: the text cannot be understood or expands too far.
            SearchTimeout: expanding its wildcards ran past ``deadline``.
        """
        if match == "any":
            # A question or a pasted paragraph: its words, none of them syntax.
            q = " ".join(word.lower() for word in PLAIN_WORD.findall(q))
        if q.strip() in ("", "*", "*:*"):
            return None
        _check_balanced(q)
        try:
            parsed = self._parsers[match].parse(q)
        except Exception as exc:  # Whoosh raises assorted errors on odd input
            raise InvalidQuery(f"cannot parse query: {exc}") from None
        expand = _Expansions(reader, deadline or Deadline.after(float("inf")))
        parsed = parsed.accept(lambda node: _streamed(expand(node)))
        for node in _walk(parsed):
            if isinstance(node, wq.TermRange) and node.fieldname == "date":
                for end in (node.start, node.end):
                    if end and not is_iso_date(str(end)):
                        raise InvalidQuery(
                            f"date range needs ISO dates like date:[2026-01-01 TO 2026-01-31], "
                            f"got {end!r}"
                        )
        return parsed


def _check_balanced(q: str) -> None:
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


class _Expansions:
    """Expands prefix, wildcard and fuzzy words under a budget and a deadline.

    Each expansion yields at most ``MAX_EXPANSIONS`` words, the whole query at
    most ``MAX_QUERY_EXPANSIONS``, and the deadline is checked while the
    vocabulary is scanned, so no query can spend more than its time limit here.
    """

    def __init__(self, reader: Any, deadline: Deadline) -> None:
        self.reader = reader
        self.deadline = deadline
        self.left = MAX_QUERY_EXPANSIONS

    def __call__(self, node: wq.Query) -> wq.Query:
        if not isinstance(node, EXPANDING) or isinstance(node, wq.Every):
            return node
        self.deadline.check()
        words = list(islice(self._words(node), MAX_EXPANSIONS))
        self.left -= len(words)
        if self.left < 0:
            raise InvalidQuery(
                f"the query's wildcards and fuzzy words expand to over {MAX_QUERY_EXPANSIONS} "
                "words; use fewer or longer ones"
            )
        if not words:
            return wq.NullQuery
        terms = [wq.Term(node.fieldname, w, boost=node.boost) for w in words]
        return wq.Or(terms, boost=node.boost) if len(terms) > 1 else terms[0]

    def _words(self, node: wq.Query) -> Iterator[bytes | str]:
        """The node's vocabulary words; patterns are matched here so the scan can stop."""
        if isinstance(node, wq.Wildcard | wq.Regex):
            pattern = re.compile(node._get_pattern())
            prefix = node._find_prefix(node.text)
            field = self.reader.schema[node.fieldname]
            candidates = (
                self.reader.expand_prefix(node.fieldname, prefix)
                if prefix
                else self.reader.lexicon(node.fieldname)
            )
            for scanned, word in enumerate(candidates):
                if scanned % DEADLINE_CHECK_EVERY == 0:
                    self.deadline.check()
                if pattern.match(field.from_bytes(word)):
                    yield word
            return
        for word in node._btexts(self.reader):
            self.deadline.check()
            yield word


def _streamed(node: wq.Query) -> wq.Query:
    """Make an OR merge its clauses' postings as it goes.

    On indexes under 5,000 documents Whoosh otherwise loads every posting of
    every clause into an array first, which makes a word found in most articles
    (each word is an OR over title, body and people) several times slower.
    """
    if isinstance(node, wq.Or):
        node.matcher_type = wq.Or.DEFAULT_MATCHER
    return node


def _walk(node: wq.Query) -> Iterator[wq.Query]:
    yield node
    for child in node.children():
        yield from _walk(child)


def positive_terms(node: wq.Query) -> Iterator[tuple[str, str]]:
    """(field, word) pairs a hit matched on: negated parts are left out."""
    if isinstance(node, wq.Not):
        return
    if isinstance(node, wq.AndNot):
        yield from positive_terms(node.a)
        return
    if node.is_leaf():
        for fieldname, text in node.terms(phrases=True):
            yield fieldname, text if isinstance(text, str) else text.decode("utf-8", "replace")
        return
    for child in node.children():
        yield from positive_terms(child)


def query_words(q: str) -> list[str]:
    """The plain words a person typed (no operators, fields or syntax), for suggestions."""
    stripped = re.sub(r"\b(?:" + "|".join(QUERY_FIELDS) + r"):", " ", q)
    stripped = re.sub(r"\[[^\]]*\]", " ", stripped)
    words = re.findall(r"(?<![\w*~])[^\W\d_]{3,}(?![\w*~])", stripped)
    return [w for w in words if w not in ("AND", "OR", "NOT", "TO")]

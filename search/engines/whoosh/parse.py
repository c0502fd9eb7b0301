"""The contract's query language as Whoosh queries.

``QueryBuilder`` parses ``q`` with Whoosh's query parser, configured to the syntax
``search.query`` documents, then bounds every expansion (prefix, wildcard, fuzzy)
to ``MAX_EXPANSIONS`` words each and ``MAX_QUERY_EXPANSIONS`` in all, stopping at
the request's deadline, so one query cannot fan out over the whole vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from whoosh import qparser
from whoosh import query as wq

from search.deadline import Deadline
from search.errors import InvalidQuery
from search.query import (
    MATCHES,
    QUERY_FIELDS,
    TEXT_FIELDS,
    bag_of_words,
    check_balanced,
)
from search.query_language import MAX_FUZZY_EDITS, Expansions, date_range_end

EXPANDING = (wq.Prefix, wq.Wildcard, wq.FuzzyTerm, wq.Regex)
# -word only at the start of a word (or group), so dates and hyphenated words stay whole.
MINUS = re.compile(r"(?<![^\s(])-(?=[^\s-])")
QUOTED = re.compile(r'("[^"]*")')
ALL_TEXT = "text"
FIELD_BOOSTS = {"title": 2.0, "body": 1.0, "people": 1.5}


class QueryBuilder:
    """Parses ``q`` against one schema; cheap to keep per worker."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._parsers = {match: self._parser(match) for match in MATCHES}

    def _parser(self, match: str) -> qparser.QueryParser:
        group = qparser.AndGroup if match == "all" else qparser.OrGroup
        parser: qparser.QueryParser
        if ALL_TEXT in self.schema:
            parser = qparser.QueryParser(ALL_TEXT, self.schema, group=group)
        else:  # an index built before the all-text field, served until it is rebuilt
            parser = qparser.MultifieldParser(
                list(TEXT_FIELDS), self.schema, fieldboosts=FIELD_BOOSTS, group=group
            )
        parser.remove_plugin_class(qparser.SingleQuotePlugin)
        parser.remove_plugin_class(qparser.FieldsPlugin)
        parser.add_plugin(qparser.FieldsPlugin(expr=rf"(?P<text>{'|'.join(QUERY_FIELDS)}):"))
        parser.add_plugin(qparser.FuzzyTermPlugin())
        parser.add_plugin(qparser.PlusMinusPlugin(r"(?<![^\s(])\+", MINUS.pattern))
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
            # A question or a pasted paragraph: its words, a repeated one boosted.
            counts = Counter(bag_of_words(q))
            q = " ".join(word if n == 1 else f"{word}^{n}" for word, n in counts.items())
        if q.strip() in ("", "*", "*:*"):
            return None
        check_balanced(q)
        try:
            parsed = self._parsers[match].parse(q)
            if parsed is wq.NullQuery:
                # Whoosh's plus-minus syntax makes excluded words alone match nothing
                # ("-blair": no article, where "NOT blair" finds every other one).
                parsed = self._parsers[match].parse(_minus_as_not(q))
        except Exception as exc:  # Whoosh raises assorted errors on odd input
            raise InvalidQuery(f"cannot parse query: {exc}") from None
        expand = _Expansions(reader, deadline or Deadline.after(float("inf")))
        parsed = parsed.accept(lambda node: _streamed(expand(node)))
        for node in _walk(parsed):
            if isinstance(node, wq.TermRange) and node.fieldname == "date":
                node.start, node.end = date_range_end(node.start), date_range_end(node.end)
        return parsed


class _Expansions:
    """Expands prefix, wildcard and fuzzy words under the query's budget and deadline
    (``search.query_language.Expansions``), so no query can spend more than its time
    limit here."""

    def __init__(self, reader: Any, deadline: Deadline) -> None:
        self.reader = reader
        self.budget = Expansions(deadline)

    def __call__(self, node: wq.Query) -> wq.Query:
        if not isinstance(node, EXPANDING) or isinstance(node, wq.Every):
            return node
        if isinstance(node, wq.FuzzyTerm):
            node.maxdist = min(node.maxdist, MAX_FUZZY_EDITS)
        words = self.budget.take(self._words(node))
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
            for word in self.budget.scanned(candidates):
                if pattern.match(field.from_bytes(word)):
                    yield word
            return
        for word in node._btexts(self.reader):
            self.budget.deadline.check()
            yield word


def _minus_as_not(q: str) -> str:
    """``q`` with each word-starting "-" outside phrases written as NOT, which means
    the same where nothing is required beside it."""
    parts = QUOTED.split(q)
    return "".join(part if odd % 2 else MINUS.sub("NOT ", part) for odd, part in enumerate(parts))


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

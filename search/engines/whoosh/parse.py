"""The contract's query language (``search.query.language``'s tree) as Whoosh queries.

The tree is parsed once for every engine; here it is only compiled, as the Xapian
engine compiles it: a plain word is scored in the all-text field (BM25F: one length
for title, body and people, the title counted twice), a field's word in that field,
and every expansion (prefix, wildcard, fuzzy) is bounded to ``MAX_EXPANSIONS`` words
each and ``MAX_QUERY_EXPANSIONS`` in all, stopping at the request's deadline, so one
query cannot fan out over the whole vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from whoosh import query as wq

from search.analysis import fold_case, without_accents
from search.deadline import Deadline
from search.model import And, DateRange, Every, Node, Not, Or, Pattern, Phrase, Word
from search.query import language as ql

ALL_TEXT = "text"


class QueryBuilder:
    """Compiles query trees against one schema; cheap to keep per worker."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.all_text = ALL_TEXT in schema

    def compile(self, tree: Node, reader: Any, deadline: Deadline) -> wq.Query | None:
        """The Whoosh query of ``tree``; None means every document.

        Raises:
            InvalidQuery: its patterns expand too far.
            SearchTimeout: expanding them ran past ``deadline``.
        """
        if isinstance(tree, Every):
            return None
        built = _Compiler(self, _Expansions(reader, deadline)).build(tree)
        # Normalised as Whoosh's own parser left its queries: nested groups flattened,
        # and a word given in two forms with one stem ("chemical", "chemically")
        # searched once, as the engine ranked bags of words when it was measured.
        return built.normalize().accept(_streamed) if built is not None else wq.NullQuery


class _Compiler:
    """One query's compilation: leaves analysed as the index analysed their field."""

    def __init__(self, builder: QueryBuilder, expand: _Expansions) -> None:
        self.schema = builder.schema
        self.all_text = builder.all_text
        self.expand = expand

    def build(self, node: Node) -> wq.Query | None:
        """``node`` as a Whoosh query; None when it has no word to search for (stop
        words only), which leaves it out of the group it is in."""
        if isinstance(node, And):
            return self._and(node)
        if isinstance(node, Or):
            return self._or(node)
        if isinstance(node, Not):
            inner = self.build(node.part)
            return None if inner is None else wq.Not(inner)
        if isinstance(node, Every):
            return wq.Every()
        if isinstance(node, DateRange):
            if node.start is not None and node.start == node.end:
                return wq.Term("date", node.start)
            return wq.TermRange("date", node.start, node.end)
        if node.field == "date":
            return wq.Term("date", node.text)
        # Expansions run over each field's own words (people's are unstemmed), as on
        # every engine: the all-text field holds their stems.
        whole = self.all_text and not isinstance(node, Pattern)
        fields = [node.field] if node.field else [ALL_TEXT] if whole else ql.TEXT_FIELDS
        built = [q for q in (self._leaf(node, field) for field in fields) if q is not None]
        if not built:
            return None
        if len(built) == 1:
            return built[0]
        return wq.Or(built)

    def _and(self, node: And) -> wq.Query | None:
        """Required parts, with negated ones subtracted (``a -b``: a, less b).

        Not Whoosh's ``AndNot``: over an index of several segments it kept articles
        that had the excluded word ("title:budget -body:tax" kept one of the BBC's);
        an ``And`` with a ``Not`` inside excludes them all.
        """
        required = [q for q in map(self.build, _positive(node.parts)) if q is not None]
        excluded = [q for q in map(self.build, _negated(node.parts)) if q is not None]
        if excluded:
            required.append(wq.Not(excluded[0] if len(excluded) == 1 else wq.Or(excluded)))
        if not required:
            return None
        return wq.And(required) if len(required) > 1 else required[0]

    def _or(self, node: Or) -> wq.Query | None:
        """Any part; a word repeated in a bag of words (``ql.plain``) counts that many
        times, as one term boosted."""
        repeats = Counter(node.parts)
        built = []
        for part, times in repeats.items():
            query = self.build(part)
            if query is not None:
                if times > 1 and query is not wq.NullQuery:  # a shared instance
                    query.boost *= times
                built.append(query)
        if not built:
            return None
        return built[0] if len(built) == 1 else wq.Or(built)

    def _leaf(self, node: Word | Phrase | Pattern, field: str) -> wq.Query | None:
        boost = 1.0 if field == ALL_TEXT or node.field else ql.FIELD_WEIGHTS[field]
        if isinstance(node, Pattern):
            return self.expand(_pattern(node, field, boost))
        forms = list(self.schema[field].process_text(node.text, mode="query"))
        if not forms:
            return None
        if len(forms) == 1:
            return wq.Term(field, forms[0], boost=boost)
        if isinstance(node, Phrase):
            return wq.Phrase(field, forms, boost=boost)
        # A hyphenated or joined word ("war-torn"): all its parts.
        return wq.And([wq.Term(field, form) for form in forms], boost=boost)


def _positive(parts: tuple[Node, ...]) -> list[Node]:
    return [part for part in parts if not isinstance(part, Not)]


def _negated(parts: tuple[Node, ...]) -> list[Node]:
    return [part.part for part in parts if isinstance(part, Not)]


def _pattern(node: Pattern, field: str, boost: float) -> wq.Query:
    text = without_accents(fold_case(node.text))
    if node.kind == "prefix":
        return wq.Prefix(field, text, boost=boost)
    if node.kind == "wildcard":
        return wq.Wildcard(field, text, boost=boost)
    return wq.FuzzyTerm(field, text, boost=boost, maxdist=node.distance)


class _Expansions:
    """Expands prefix, wildcard and fuzzy words under the query's budget and deadline
    (``search.query.language.Expansions``), so no query can spend more than its time
    limit here."""

    def __init__(self, reader: Any, deadline: Deadline) -> None:
        self.reader = reader
        self.budget = ql.Expansions(deadline)

    def __call__(self, node: wq.Query) -> wq.Query | None:
        words = self.budget.take(self._words(node))
        if not words:
            return wq.NullQuery
        terms = [wq.Term(node.fieldname, w, boost=node.boost) for w in words]
        return wq.Or(terms, boost=node.boost) if len(terms) > 1 else terms[0]

    def _words(self, node: wq.Query) -> Iterator[bytes | str]:
        """The node's vocabulary words; patterns are matched here so the scan can stop."""
        if isinstance(node, wq.Wildcard):
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


def _streamed(node: wq.Query) -> wq.Query:
    """Make an OR merge its clauses' postings as it goes.

    On indexes under 5,000 documents Whoosh otherwise loads every posting of
    every clause into an array first, which makes a word found in most articles
    (each word is an OR over title, body and people) several times slower.
    """
    if isinstance(node, wq.Or):
        node.matcher_type = wq.Or.DEFAULT_MATCHER
    return node


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

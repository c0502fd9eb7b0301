"""The contract's query language (``search.query.language``) as Xapian queries.

Xapian's own query parser reads some of the syntax differently (fuzzy words,
``-word`` inside groups, infix wildcards), so queries are built from our own parse
with the same meaning the Whoosh engine gives them: a plain word matches title,
body or people, scored on its terms in all of them as one term (``all_text``: a
headline word weighted up, BM25F); a field's word matches that field's own terms;
expansions (prefix, wildcard, fuzzy) read each field's vocabulary under the
request's deadline, at most ``MAX_EXPANSIONS`` words each and
``MAX_QUERY_EXPANSIONS`` in all.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator

import xapian
from rapidfuzz.distance import OSA

from search.analysis import fold_case, without_accents
from search.deadline import Deadline
from search.engines.xapian import analysis as a
from search.model import And, DateRange, Every, Node, Not, Or, Pattern, Phrase, Word
from search.query import language as ql


class QueryBuilder:
    """Builds the Xapian query of one request over one database."""

    def __init__(self, db: xapian.Database, deadline: Deadline) -> None:
        self.db = db
        self.budget = ql.Expansions(deadline)
        self.terms: set[str] = set()  # index forms matched positively, to highlight

    def build(self, node: Node) -> xapian.Query | None:
        """The query of ``node``; None when it means every document."""
        if isinstance(node, Every):
            return None
        built = self._build(node, positive=True)
        return built if built is not None else xapian.Query.MatchNothing

    def _build(self, node: Node, positive: bool) -> xapian.Query | None:
        if isinstance(node, And | Or):
            return self._combine(node, positive)
        if isinstance(node, Not):
            inner = self._build(node.part, positive=False)
            if inner is None:
                return None
            return xapian.Query(xapian.Query.OP_AND_NOT, xapian.Query.MatchAll, inner)
        if isinstance(node, DateRange):
            return xapian.Query(
                xapian.Query.OP_VALUE_RANGE, a.DATE_SLOT, node.start or "", node.end or "9999"
            )
        if isinstance(node, Every):
            return xapian.Query.MatchAll
        if node.field == "date":
            return xapian.Query(a.DATE + node.text)
        if node.field is None and not isinstance(node, Pattern):
            return self._leaf(node, None, positive)  # every text field at once, BM25F
        fields = (node.field,) if node.field else ql.TEXT_FIELDS
        per_field = [self._leaf(node, field, positive) for field in fields]
        queries = [q for q in per_field if q is not None]
        if not queries:
            return None
        return queries[0] if len(queries) == 1 else xapian.Query(xapian.Query.OP_OR, queries)

    def _combine(self, node: And | Or, positive: bool) -> xapian.Query | None:
        """AND: required parts, with negated ones subtracted; OR: any part."""
        if isinstance(node, Or):
            parts = [q for q in (self._build(p, positive) for p in node.parts) if q is not None]
            return xapian.Query(xapian.Query.OP_OR, parts) if parts else None
        required: list[xapian.Query] = []
        excluded: list[xapian.Query] = []
        for part in node.parts:
            if isinstance(part, Not):
                built = self._build(part.part, positive=False)
                if built is not None:
                    excluded.append(built)
            elif (built := self._build(part, positive)) is not None:
                required.append(built)
        if not required and not excluded:
            return None
        base = xapian.Query(xapian.Query.OP_AND, required) if required else xapian.Query.MatchAll
        if excluded:
            return xapian.Query(
                xapian.Query.OP_AND_NOT, base, xapian.Query(xapian.Query.OP_OR, excluded)
            )
        return base

    def _leaf(
        self, node: Word | Phrase | Pattern, field: str | None, positive: bool
    ) -> xapian.Query | None:
        """One field's query; ``field`` None means every text field (``all_text``)."""
        if isinstance(node, Pattern):
            assert field is not None
            query = self._expansion(node, field)
        else:
            forms, terms = self._forms_and_terms(node.text, field)
            if not forms:
                return None
            if positive:
                self.terms.update(forms if field != "people" else self._text_forms(node.text))
            if len(terms) == 1:
                query = terms[0]
            elif isinstance(node, Phrase) and field is None:
                # The words' synonyms (with headline terms, which have no positions)
                # score the phrase, found in one field (no phrase spans two of them).
                query = xapian.Query(
                    xapian.Query.OP_FILTER,
                    xapian.Query(xapian.Query.OP_AND, terms),
                    self._in_a_field(node.text),
                )
            elif isinstance(node, Phrase):
                query = xapian.Query(xapian.Query.OP_PHRASE, terms)
            else:  # a hyphenated word: all its parts, as the Whoosh engine reads it
                query = xapian.Query(xapian.Query.OP_AND, terms)
        if query is None or field is None:
            return query
        return xapian.Query(xapian.Query.OP_SCALE_WEIGHT, query, ql.FIELD_WEIGHTS[field])

    def _in_a_field(self, text: str) -> xapian.Query:
        """The phrase ``text`` in the title, the body or the people."""
        phrases = []
        for field in ql.TEXT_FIELDS:
            words = self._forms_and_terms(text, field)[1]
            if len(words) > 1:
                phrases.append(xapian.Query(xapian.Query.OP_PHRASE, words))
            elif words:
                phrases.append(words[0])
        return xapian.Query(xapian.Query.OP_OR, phrases)

    @staticmethod
    def _forms_and_terms(text: str, field: str | None) -> tuple[list[str], list[xapian.Query]]:
        """The index forms of ``text``'s words (for highlights) and a query a word: its
        term in ``field``, or its terms in every field as one (None, ``all_text``)."""
        if field is None:
            pairs = a.query_words(text)
            return [form for _, form in pairs], [all_text(form, word) for word, form in pairs]
        forms = a.name_terms(text) if field == "people" else a.query_terms(text)
        return forms, [xapian.Query(a.PREFIXES[field] + form) for form in forms]

    @staticmethod
    def _text_forms(text: str) -> list[str]:
        return [form for word in a.words(text) if (form := a.analyzed(word))]

    def _expansion(self, node: Pattern, field: str) -> xapian.Query | None:
        words = self.budget.take(self._words(node, a.PREFIXES[field]))
        if not words:
            return None
        self.terms.update(word[len(a.PREFIXES[field]) :] for word in words)
        return xapian.Query(xapian.Query.OP_OR, [xapian.Query(word) for word in words])

    def _words(self, node: Pattern, prefix: str) -> Iterator[str]:
        """Vocabulary words of the field that the pattern matches, deadline-checked."""
        text = without_accents(fold_case(node.text))
        matches: Callable[[str], object] | None
        if node.kind == "prefix":
            lead, matches = text, None
        elif node.kind == "wildcard":
            lead = re.split(r"[*?]", text, maxsplit=1)[0]
            pattern = re.compile(fnmatch.translate(text))
            matches = pattern.match
        else:
            lead = text[:1]
            matches = _within(text, node.distance)
        for item in self.budget.scanned(self.db.allterms(prefix + lead)):
            term = item.term.decode("utf-8")
            if matches is None or matches(term[len(prefix) :]):
                yield term


def all_text(form: str, word: str | None = None) -> xapian.Query:
    """A plain word (index ``form``; ``word`` as people terms hold it, if a name may
    have it) as one term over the headline, body and people terms: Xapian's
    OP_SYNONYM scores them as a single term whose within-document frequency is the sum
    of theirs (BM25F, ``analysis.HEADLINE``)."""
    terms = [a.HEADLINE + form, a.PREFIXES["body"] + form]
    if word is not None:
        terms.append(a.PREFIXES["people"] + word)
    return xapian.Query(xapian.Query.OP_SYNONYM, [xapian.Query(term) for term in terms])


def _within(text: str, distance: int) -> Callable[[str], bool]:
    """A test that a word is within ``distance`` edits of ``text``."""

    def test(word: str) -> bool:
        if abs(len(word) - len(text)) > distance:
            return False
        return edit_distance(word, text, distance) <= distance

    return test


def edit_distance(a_word: str, b_word: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions), ``limit + 1`` past
    ``limit``. A suggestion or a fuzzy word measures every candidate word of the
    vocabulary, so it is rapidfuzz's C implementation (40x the Python loop it replaced)."""
    return int(OSA.distance(a_word, b_word, score_cutoff=limit))

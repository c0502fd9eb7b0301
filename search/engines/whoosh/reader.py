"""Searching a Whoosh index: one ``WhooshReader`` per open snapshot.

Totals are exact: ``ExactTopCollector`` counts every match while keeping the top
N, and the request's deadline is checked while expanding, collecting and
offering spellings. Facets are counted from per-snapshot tables rather than Whoosh's
facet collectors, which score every match and re-read postings each time. Pages
past the first are cut from every match put in order once a snapshot (``_ordered``).
"""

from __future__ import annotations

import contextlib
import heapq
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from whoosh import collectors, sorting
from whoosh import index as whoosh_index
from whoosh import query as wq

from search.deadline import Deadline
from search.engines.base import search_each
from search.engines.whoosh.parse import QueryBuilder, positive_terms
from search.engines.whoosh.schema import analyzed, from_stored
from search.model import Article, EngineQuery, Match, Matches, Recency, StoredDoc
from search.suggestions import SPELLING_EDITS, SPELLINGS

T = TypeVar("T")

SIMILAR_TERMS = 20
# Searches whose every match is kept in order for the walks through them, by this
# snapshot (16 bytes a match: 16 MB for a million; see ``_ordered``).
KEPT_WALKS = 4
# Reads of the newest TOC while commits land (``_despite_commits``).
TOC_TRIES = 5
DEADLINE_CHECK_EVERY = 128
FEEDBACK_DOCS = 5
FEEDBACK_TERMS = 20
FEEDBACK_WEIGHT = 0.25


class DeadlineCollector(collectors.WrappingCollector):
    """Stops a search that runs past its deadline instead of holding the worker.

    It wraps the innermost collector and checks the clock every
    ``DEADLINE_CHECK_EVERY`` collected documents (and at the first), so the
    collapsing and faceting collectors around it keep their own matching loops.
    """

    def __init__(self, child: Any, deadline: Deadline) -> None:
        super().__init__(child)
        self.deadline = deadline
        self.collected = 0

    def collect(self, sub_docnum: int) -> Any:
        if self.collected % DEADLINE_CHECK_EVERY == 0:
            self.deadline.check()
        self.collected += 1
        return self.child.collect(sub_docnum)


class ExactTopCollector(collectors.TopCollector):
    """Top N that still visits every match, so its count is the exact total.

    Whoosh's scored collectors replace the matcher with ``replace(minscore)`` as the
    top N fills up, and that prunes OR branches whose best possible score is below
    the N-th: right for the top N, but the pruned matches are then never counted.
    Keeping the threshold at zero keeps every match in the count.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(limit, usequality=False)

    def _collect(self, global_docnum: int, score: float) -> Any:
        key = super()._collect(global_docnum, score)
        self.minscore = 0
        return key


class RecencyCollector(ExactTopCollector):
    """Top N by text score plus recency part (``Recency``), counting every match.

    The recency part is scaled by the best text score, known only once every match
    is scored, so each match's score is kept and the top N chosen at the end.
    """

    def __init__(self, limit: int, recency: Recency, parts: list[float]) -> None:
        super().__init__(limit)
        self.recency = recency
        self.parts = parts
        self.scores: dict[int, float] = {}

    def prepare(self, top_searcher: Any, q: Any, context: Any) -> None:
        super().prepare(top_searcher, q, context)
        self.scores = {}

    def _collect(self, global_docnum: int, score: float) -> Any:
        self.total += 1
        self.scores[global_docnum] = score
        return 0 - global_docnum

    def remove(self, global_docnum: int) -> None:
        self.scores.pop(global_docnum, None)

    def results(self) -> Any:
        boost = self.recency.boost(max(self.scores.values(), default=0.0))
        parts = self.parts
        top = heapq.nlargest(
            self.limit,
            ((score + boost * parts[docnum], -docnum) for docnum, score in self.scores.items()),
        )
        return self._results([(score, -negated) for score, negated in top])


class FacetTable:
    """Each document's facet values, read once per searcher, to count any set of matches.

    Whoosh's own facet collectors score every match and re-read a multi-valued
    field's postings on every search; here ``people`` comes from one pass over its
    postings and ``month``/``year`` from their columns, segment by segment (a
    segment with no dated article has no such column), kept until the searcher
    changes; each document's recency part for a half-life likewise.
    """

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self._values: dict[str | Recency, Any] = {}

    def _people(self) -> dict[int, list[str]]:
        by_doc: dict[int, list[str]] = defaultdict(list)
        for name in self.reader.lexicon("people_exact"):
            person = name.decode("utf-8") if isinstance(name, bytes) else name
            for docnum in self.reader.postings("people_exact", name).all_ids():
                by_doc[docnum].append(person)
        return by_doc

    def _column(self, name: str) -> list[str]:
        values: list[str] = []
        for leaf, _ in self.reader.leaf_readers():
            has = leaf.has_column(name)
            values.extend(leaf.column_reader(name) if has else [""] * leaf.doc_count_all())
        return values

    def recency_parts(self, recency: Recency) -> list[float]:
        """Each document's recency part, by document number, from the days' parts."""
        if recency not in self._values:
            dates = self.values("date")
            days = sorted({day for day in dates if day})
            by_day = dict(recency.days(recency.origin(days[-1]), days[0], days[-1])) if days else {}
            self._values[recency] = [by_day.get(day, 0.0) for day in dates]
        parts: list[float] = self._values[recency]
        return parts

    def values(self, name: str) -> Any:
        """``name``'s values by document number (people: a dict of lists)."""
        if name not in self._values:
            self._values[name] = self._people() if name == "people" else self._column(name)
        return self._values[name]

    def counts(self, name: str, docnums: Iterable[int]) -> Counter[str]:
        values = self.values(name)
        if name == "people":
            return Counter(person for docnum in docnums for person in values.get(docnum, ()))
        return Counter(values[docnum] for docnum in docnums)


@dataclass
class _Found:
    """What a search found: matches in order (document numbers and scores, zero
    in date order), how many there are, their facet counts and the terms to
    highlight. Arrays: 16 bytes a match where a list of tuples takes some 80."""

    docnums: array[int]
    scores: array[float]
    total: int
    facets: dict[str, Counter[str]]
    terms: frozenset[str]


class WhooshReader:
    """One snapshot of a Whoosh index: a searcher and what is derived from it."""

    def __init__(self, index: Any, searcher: Any | None = None) -> None:
        self.index = index
        self.searcher = searcher or index.searcher()
        # The schema of the segments opened: ``index.schema`` reads the newest TOC
        # again, which a commit landing meanwhile removes.
        self.builder = QueryBuilder(self.searcher.schema)
        self.facets = FacetTable(self.searcher.reader())
        # The searches walked past their first page, by query, the latest last.
        self._walks: dict[EngineQuery, _Found] = {}

    @classmethod
    def open(cls, path: Path) -> WhooshReader:
        return cls(_despite_commits(lambda: whoosh_index.open_dir(str(path))))

    def close(self) -> None:
        self.searcher.close()

    def is_current(self) -> bool:
        return bool(self.searcher.up_to_date())

    def refreshed(self) -> WhooshReader:
        """A reader of the newest commit, this one closed. Whoosh's own refresh reuses
        the segments that did not change, but when a merge removes a segment as it
        opens them it closes the reused ones, still in use here, and tries again; a
        new searcher opens every segment (a few milliseconds at most)."""
        fresh = WhooshReader(self.index)
        self.close()
        return fresh

    def doc_count(self) -> int:
        return int(self.searcher.doc_count())

    def analyzed(self, word: str) -> str | None:
        return analyzed(word)

    def stats(self) -> dict[str, Any]:
        built_at = float(_despite_commits(self.index.last_modified))
        return {"commit": self.index.latest_generation(), "built_at": built_at}

    def stored_docs(self) -> list[StoredDoc]:
        return [
            StoredDoc(
                fields["id"],
                fields.get("path", ""),
                fields.get("content_hash", ""),
                fields.get("story", fields["id"]),
                fields.get("minhash", b""),
            )
            for fields in self.searcher.reader().all_stored_fields()
        ]

    def document(self, doc_id: str) -> Article | None:
        stored = self.searcher.document(id=doc_id)
        return None if stored is None else from_stored(stored)

    def holding(self, ids: Sequence[str]) -> set[str]:
        """By the id's posting, without reading each document's stored fields."""
        return {doc_id for doc_id in ids if self.searcher.document_number(id=doc_id) is not None}

    def search(self, query: EngineQuery, deadline: Deadline) -> Matches:
        """The page ``query`` asks for. A first page is the top N; a later one is cut
        from every match in order, found once for this snapshot (``_ordered``)."""
        if query.offset == 0:
            found = self._found(query, deadline)
        else:
            found = self._ordered(query, deadline)
        end = query.offset + query.limit
        window = zip(
            found.docnums[query.offset : end], found.scores[query.offset : end], strict=True
        )
        scored = query.newest_first is None
        return Matches(
            total=found.total,
            hits=[self._match(docnum, score, query.collapse, scored) for docnum, score in window],
            facets=found.facets,
            terms=found.terms,
        )

    def _ordered(self, query: EngineQuery, deadline: Deadline) -> _Found:
        """Every match of ``query`` in its order, kept while this snapshot is served.

        Whoosh has no search-after: each page past the first visited and sorted
        every match again, so walking 35,600 by cursor took 44 s. Pages of a walk
        (or an export) now cost their own documents; like Elasticsearch's point
        in time, the order is that of one snapshot, and a new commit starts again.
        """
        key = replace(query, offset=0, limit=0)
        found = self._walks.pop(key, None)
        if found is None:
            found = self._found(replace(query, offset=0, limit=self.doc_count()), deadline)
        self._walks[key] = found
        while len(self._walks) > KEPT_WALKS:
            del self._walks[next(iter(self._walks))]
        return found

    def _found(self, query: EngineQuery, deadline: Deadline) -> _Found:
        """The first ``query.limit`` matches in order, the total, facets and terms."""
        searcher = self.searcher
        parsed = self.builder.compile(query.tree, searcher.reader(), deadline)
        collector = self._collector(query, deadline)
        matching = _with_filter(parsed, query)
        if query.feedback and parsed is not None:
            matching = _with_filter(_expanded(searcher, parsed, matching), query)
        searcher.search_with_collector(matching, collector)
        results = collector.results()
        docnums = results.docs() if query.facets else ()
        top = results.top_n[: query.limit]
        scored = query.newest_first is None  # else the "score" is the sort key
        return _Found(
            docnums=array("q", (docnum for _, docnum in top)),
            scores=array("d", (score for score, _ in top) if scored else bytes(8 * len(top))),
            total=len(results.groups("_story")) if query.collapse else len(results),
            facets={name: self.facets.counts(name, docnums) for name in query.facets},
            terms=_highlight_terms(parsed) if parsed is not None else frozenset(),
        )

    def matching(
        self, queries: Sequence[EngineQuery], ids: Sequence[str], deadline: Deadline
    ) -> list[set[str]]:
        return search_each(self, queries, ids, deadline)

    def _collector(self, query: EngineQuery, deadline: Deadline) -> Any:
        """Top-N (or sorting) collector, under the deadline, collapsed by story.

        With ``collapse`` the ``_story`` facet counts the distinct stories, which is
        what ``total`` then reports.
        """
        limit = query.offset + query.limit
        base: Any
        if query.newest_first is not None:
            # Then by id, as Xapian orders (date, id): a cursor needs one total order.
            by_date = sorting.MultiFacet(["date", "id"])
            base = collectors.SortingCollector(by_date, limit=limit, reverse=query.newest_first)
        elif query.recency is not None:
            base = RecencyCollector(limit, query.recency, self.facets.recency_parts(query.recency))
        elif limit >= self.searcher.doc_count():
            base = collectors.UnlimitedCollector()
        else:
            # Counting every match as it goes costs less than matching the query a
            # second time just to count.
            base = ExactTopCollector(limit)
        collector: Any = DeadlineCollector(base, deadline)
        if query.collapse:
            stories = {"_story": sorting.FieldFacet("story", maptype=sorting.Count)}
            collector = collectors.FacetCollector(collector, stories)
            collector = collectors.CollapseCollector(collector, "story", limit=1)
        return collector

    def _match(self, docnum: int, score: float, collapsed: bool, scored: bool) -> Match:
        """One hit; ``scored`` is false when sorted by date (score is then null)."""
        article = from_stored(self.searcher.stored_fields(docnum))
        duplicates = None
        if collapsed:
            ids = self.searcher.reader().column_reader("id")
            members = self.searcher.docs_for_query(wq.Term("story", article.story_key))
            duplicates = sorted(ids[member] for member in members if member != docnum)
        return Match(article, round(float(score), 4) if scored else None, duplicates)

    def similar(self, article: Article, limit: int) -> list[Match]:
        """Its key body terms and its people, itself excluded."""
        searcher = self.searcher
        keys = searcher.key_terms_from_text("body", article.body, numterms=SIMILAR_TERMS)
        clauses = [wq.Term("body", word, boost=weight) for word, weight in keys]
        clauses += [wq.Term("people_exact", name, boost=2.0) for name in article.people[:5]]
        if not clauses:
            return []
        results = searcher.search(wq.Or(clauses), limit=limit, mask=wq.Term("id", article.id))
        return [self._match(hit.docnum, hit.score, False, True) for hit in results]

    def completion_keys(self, kind: str, prefix: str, most: int) -> list[tuple[str, int]]:
        reader, field = self.searcher.reader(), f"complete_{kind}"
        if field not in reader.schema:  # an index of an older schema
            return []
        found = []
        for term in reader.expand_prefix(field, prefix):
            key = term.decode("utf-8") if isinstance(term, bytes) else term
            found.append((key, int(reader.doc_frequency(field, key))))
            if len(found) >= most:
                break
        return found

    def doc_frequency(self, form: str) -> int:
        reader = self.searcher.reader()
        return int(reader.doc_frequency("body", form) + reader.doc_frequency("title", form))

    def spellings(self, word: str, deadline: Deadline) -> list[str]:
        """Whoosh's corrector over the body's words (once started, it cannot be
        interrupted)."""
        if deadline.passed():
            return []
        corrector = self.searcher.corrector("body")
        found = corrector.suggest(word, limit=SPELLINGS, maxdist=SPELLING_EDITS, prefix=1)
        return [candidate for candidate in found if candidate != word]


def _despite_commits(read: Callable[[], T]) -> T:
    """``read()`` of the newest TOC (to open the index or date its newest commit), made
    again when it fails: Whoosh lists the TOCs, then opens the newest, which a commit
    landing in between removes; the next look finds the newer one."""
    for _ in range(TOC_TRIES - 1):
        with contextlib.suppress(FileNotFoundError):
            return read()
    return read()


def _with_filter(parsed: wq.Query | None, query: EngineQuery) -> wq.Query:
    """The query with the people and date filters ANDed in, adding nothing to scores.

    Filters go into the query rather than a filtering collector, which would
    bypass the collapsing collector's own loop.
    """
    clauses: list[wq.Query] = [wq.Term("people_exact", name) for name in query.people]
    if query.date_from or query.date_to:
        clauses.append(wq.TermRange("date", query.date_from, query.date_to))
    if query.ids is not None:
        clauses.append(wq.Or([wq.Term("id", doc_id) for doc_id in query.ids]))
    base = parsed if parsed is not None else wq.Every()
    if not clauses:
        return base
    return wq.And([base, wq.ConstantScoreQuery(wq.And(clauses), 0.0)])


def _expanded(searcher: Any, parsed: wq.Query, first_pass: wq.Query) -> wq.Query:
    """Pseudo-relevance feedback (RM3-style): the key body terms of the query's
    ``FEEDBACK_DOCS`` best hits, weighted below the words typed, add to the score of
    what the query matches (and match nothing more, so ``total`` counts the words).

    Questions in natural language name a topic in other words than the articles
    about it; the top hits' own vocabulary bridges that. Measured on Cranfield
    (docs/relevance.md), it is for bag-of-words searches, not for exact ones.
    """
    docnums = [hit.docnum for hit in searcher.search(first_pass, limit=FEEDBACK_DOCS)]
    keys = searcher.key_terms(docnums, "body", numterms=FEEDBACK_TERMS) if docnums else []
    if not keys:
        return parsed
    top = max(weight for _, weight in keys)
    feedback = [
        wq.Term("body", word, boost=FEEDBACK_WEIGHT * weight / top) for word, weight in keys
    ]
    return wq.AndMaybe(parsed, wq.Or(feedback))


def _highlight_terms(parsed: wq.Query) -> frozenset[str]:
    """Index forms to mark in titles and bodies: text terms, and people words analysed."""
    forms = set()
    for fieldname, text in positive_terms(parsed):
        if fieldname in ("title", "body", "text"):
            forms.add(text)
        elif fieldname == "people":
            forms.add(analyzed(text) or text)
    return frozenset(forms)

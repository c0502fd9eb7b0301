"""Searching a Xapian database: one ``XapianReader`` per open snapshot.

Totals are exact. A page is matched first, scored and uncounted; where Xapian's
bounds on the total then differ (anything but a single word), a second,
unweighted pass with ``checkatleast`` set to the database size counts every match
instead of estimating (with ``collapse``, one scored pass counts every story).
Xapian's own time limit is set to what is left of the request's deadline; if it
cuts a match short the counts are no longer exact, and the search answers 503
rather than a count passed off as exact. Facets are counted by Xapian's value spies
during the match (people as each document's set of names, split here); an index
written before people had a value slot counts them from a table of each document's
names, read once per snapshot. Every article's record for an incremental reindex
comes from a spy too (``stored_docs``), or, before that slot, document by document.
"""

from __future__ import annotations

import functools
import heapq
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import xapian

from search.deadline import Deadline
from search.engines.base import file_stats, search_each
from search.engines.xapian import analysis as a
from search.engines.xapian.parse import QueryBuilder, all_text, edit_distance
from search.engines.xapian.writer import article_of, format_of, stored_doc_of
from search.errors import IndexChanging
from search.model import Article, EngineQuery, Match, Matches, Pattern, Recency, StoredDoc
from search.query import language as ql
from search.suggestions import SPELLING_EDITS, SPELLINGS

SIMILAR_TERMS = 20
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 20
FEEDBACK_WEIGHT = 0.5
BM25_K1 = 1.2
BM25_B = 0.75
FACET_SLOTS = {"month": a.MONTH_SLOT, "year": a.YEAR_SLOT, "people": a.PEOPLE_SLOT}
# Expand sets with the whole index's term frequencies: over shards Xapian would
# otherwise estimate them from the shards the chosen documents are in.
EXACT = xapian.Enquire.USE_EXACT_TERMFREQ


F = TypeVar("F", bound=Callable[..., Any])


# Reads of a revision a writer discarded meanwhile, before the error is the caller's.
REOPEN_TRIES = 4


def _reopening(method: F) -> F:
    """``method`` again on the newest revision when the revision it read was
    discarded: Xapian keeps a revision only until two newer commits, and pushed
    articles (then their people) can be committed twice within a worker's refresh
    interval, or during the retry itself under a steady push (``REOPEN_TRIES``;
    the writer leaves the engine's ``commit_gap_s`` between its batches).

    Raises:
        IndexChanging: every try's revision was discarded before it was done.
    """

    @functools.wraps(method)
    def again(self: XapianReader, *args: Any, **kwargs: Any) -> Any:
        for _ in range(REOPEN_TRIES):
            try:
                return method(self, *args, **kwargs)
            except xapian.DatabaseModifiedError:
                self.db.reopen()
                self._forget()
        raise IndexChanging(
            f"the index was written {REOPEN_TRIES} times over while this was read; try again"
        )

    return cast(F, again)


class XapianReader:
    """One snapshot (revision) of a Xapian database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = xapian.Database(str(path))
        self._forget()
        self.format = format_of(self.db)

    def _forget(self) -> None:
        """Drop what was derived from the documents read: another revision (or
        replica) may number and date them otherwise."""
        self._people: dict[int, list[str]] | None = None
        self._recency: dict[Recency, xapian.Query] = {}

    def close(self) -> None:
        self.db.close()

    def is_current(self) -> bool:
        latest = xapian.Database(str(self.path))
        try:
            return bool(latest.get_revision() == self.db.get_revision())
        finally:
            latest.close()

    def refreshed(self) -> XapianReader:
        self.close()
        return XapianReader(self.path)

    @_reopening
    def doc_count(self) -> int:
        return int(self.db.get_doccount())

    def analyzed(self, word: str) -> str | None:
        return a.analyzed(word)

    def stats(self) -> dict[str, Any]:
        return {"commit": int(self.db.get_revision()), "built_at": _modified(self.path)}

    @_reopening
    def stored_docs(self) -> list[StoredDoc]:
        """Every article's record, from one match over ``STORED_SLOT`` (one answer a
        shard), or document by document from an index of an older format."""
        if self.format >= a.STORED_SLOT_SINCE:
            return stored_records(self.db)
        docs = []
        for item in self.db.postlist(""):
            article, minhash = article_of(self.db.get_document(item.docid).get_data())
            docs.append(
                StoredDoc(article.id, article.path, article.content_hash, article.story, minhash)
            )
        return docs

    @_reopening
    def document(self, doc_id: str) -> Article | None:
        found = self._docid(doc_id)
        return None if found is None else article_of(self.db.get_document(found).get_data())[0]

    @_reopening
    def holding(self, ids: Sequence[str]) -> set[str]:
        """One match over the ids' terms, the ids read from a value spy: one answer a
        shard, where reading each document took two round trips."""
        if self.format < 1:  # no id slot before formats were recorded
            return {doc_id for doc_id in ids if self._docid(doc_id) is not None}
        terms = xapian.Query(xapian.Query.OP_OR, [xapian.Query(a.ID + doc_id) for doc_id in ids])
        return {value.decode("utf-8") for value in _slot_values(self.db, terms, a.ID_SLOT)}

    def _docid(self, doc_id: str) -> int | None:
        for item in self.db.postlist(a.ID + doc_id):
            return int(item.docid)
        return None

    @_reopening
    def search(self, query: EngineQuery, deadline: Deadline) -> Matches:
        builder = QueryBuilder(self.db, deadline)
        built = builder.build(query.tree)
        if query.feedback and built is not None:
            built = self._expanded(built)
        filtered = _with_filter(built, query)
        enquire = _enquire(self.db)
        enquire.set_query(filtered)
        if query.newest_first is not None:  # else relevance, as ``_enquire`` set it
            enquire.set_sort_by_value_then_relevance(a.DATE_ID_SLOT, query.newest_first)
        known_before = None
        if query.recency is not None:
            known_before = self._rank_recent(enquire, filtered, query.recency, deadline)
        spies = self._spies(query)
        size = self.db.get_doccount()
        if query.collapse or ("people" in query.facets and "people" not in spies):
            # An exact count of stories needs every story, and people counted from
            # the table every match: one pass keeps them all.
            if query.collapse:
                enquire.set_collapse_key(a.STORY_SLOT)
            total, items = _counted(enquire, spies, size, size, deadline)
            page = items[query.offset : query.offset + query.limit]
        else:
            known, page = _page(enquire, query.offset, query.limit, deadline)
            if query.recency is not None:
                known = known_before
            if known is None or spies:
                known = self._count(filtered, spies, size, deadline)
            total, items = known, page
        scored = query.newest_first is None
        return Matches(
            total=total,
            hits=[self._match(item, query.collapse, scored) for item in page],
            facets=self._facets(query, spies, items),
            terms=frozenset(builder.terms),
        )

    @_reopening
    def matching(
        self, queries: Sequence[EngineQuery], ids: Sequence[str], deadline: Deadline
    ) -> list[set[str]]:
        """A query without a pattern is matched on an in-memory copy of just the
        articles of ``ids`` (its words' postings are theirs, not the archive's: some
        15 times faster at 16x); one with a pattern over the index, where ``search``
        expands it from the whole vocabulary."""
        scratch = xapian.WritableDatabase("", xapian.DB_BACKEND_INMEMORY)
        for doc_id in ids:
            if (docid := self._docid(doc_id)) is not None:
                scratch.add_document(self.db.get_document(docid))
        plain = [q for q in queries if not any(isinstance(n, Pattern) for n in ql.leaves(q.tree))]
        found = dict(zip(plain, _matched_in(scratch, plain, deadline), strict=True))
        others = [q for q in queries if q not in found]
        found.update(zip(others, search_each(self, others, ids, deadline), strict=True))
        return [found[query] for query in queries]

    def _rank_recent(
        self, enquire: xapian.Enquire, query: xapian.Query, recency: Recency, deadline: Deadline
    ) -> int | None:
        """Set ``enquire`` to rank by ``query`` plus each match's recency part
        (``Recency``): the best match's score, from a first pass for the top match,
        scales the recency parts, which a value map over the date slot gives, days
        to weights. Returns the first pass's exact total, or None (see ``_page``)."""
        known, top = _page(enquire, 0, 1, deadline)
        if not top:
            return known
        boost = xapian.Query(
            xapian.Query.OP_SCALE_WEIGHT,
            self._recency_parts(recency),
            recency.boost(float(top[0].weight)),
        )
        enquire.set_query(xapian.Query(xapian.Query.OP_AND_MAYBE, query, boost))
        return known

    def _recency_parts(self, recency: Recency) -> xapian.Query:
        """Each day's recency part as a query over the date slot, made once per
        snapshot and half-life (a query of a posting source costs 40 us to make)."""
        if recency not in self._recency:
            oldest = self.db.get_value_lower_bound(a.DATE_SLOT).decode("utf-8")
            newest = self.db.get_value_upper_bound(a.DATE_SLOT).decode("utf-8")
            source = xapian.ValueMapPostingSource(a.DATE_SLOT)
            for day, weight in recency.days(recency.origin(newest), oldest, newest):
                source.add_mapping(day, weight)
            self._recency[recency] = xapian.Query(source)
        return self._recency[recency]

    def _count(
        self, query: xapian.Query, spies: dict[str, Any], size: int, deadline: Deadline
    ) -> int:
        """Every match counted, and seen by the facets' spies, unweighted: scoring
        every match only to count it took 60 % longer (16x bench queries: 0.25
        against 0.15 ms)."""
        enquire = xapian.Enquire(self.db)
        enquire.set_weighting_scheme(xapian.BoolWeight())
        enquire.set_query(query)
        return _counted(enquire, spies, 0, size, deadline)[0]

    def _spies(self, query: EngineQuery) -> dict[str, Any]:
        """A value spy per facet asked (people too, since its slot exists)."""
        return {
            name: xapian.ValueCountMatchSpy(FACET_SLOTS[name])
            for name in query.facets
            if name != "people" or self.format >= a.PEOPLE_SLOT_SINCE
        }

    def _facets(
        self, query: EngineQuery, spies: dict[str, Any], items: list[Any]
    ) -> dict[str, Counter[str]]:
        facets: dict[str, Counter[str]] = {}
        for name in query.facets:
            if name not in spies:
                people = self._people_table()
                facets[name] = Counter(
                    person for item in items for person in people.get(item.docid, ())
                )
                continue
            counts: Counter[str] = Counter()
            for value in spies[name].values():
                text = value.term.decode("utf-8")
                for part in a.people_of(text) if name == "people" else (text,):
                    counts[part] += value.termfreq
            facets[name] = counts
        return facets

    def _people_table(self) -> dict[int, list[str]]:
        """Each document's people, from one pass over the person terms (for an
        index written before people had a value slot)."""
        if self._people is None:
            table: dict[int, list[str]] = {}
            for item in self.db.allterms(a.PERSON):
                name = item.term.decode("utf-8")[len(a.PERSON) :]
                for posting in self.db.postlist(item.term):
                    table.setdefault(posting.docid, []).append(name)
            self._people = table
        return self._people

    def _match(self, item: Any, collapsed: bool, scored: bool) -> Match:
        article = article_of(item.document.get_data())[0]
        duplicates = None
        if collapsed:
            duplicates = sorted(
                article_of(self.db.get_document(docid).get_data())[0].id
                for docid in self._story_members(article.story)
                if docid != item.docid
            )
        score = round(float(item.weight), 4) if scored else None
        return Match(article, score, duplicates)

    def _story_members(self, story: str) -> list[int]:
        return [int(p.docid) for p in self.db.postlist(a.STORY + story)]

    @_reopening
    def similar(self, article: Article, limit: int) -> list[Match]:
        """The article's most telling terms (Xapian's expand set) and its people."""
        docid = self._docid(article.id)
        if docid is None:
            return []
        rset = xapian.RSet()
        rset.add_document(docid)
        enquire = _enquire(self.db)
        eset = enquire.get_eset(SIMILAR_TERMS, rset, EXACT, _BodyTerms())
        clauses = [all_text(_body_form(t.term)) for t in eset]
        clauses += [
            xapian.Query(xapian.Query.OP_SCALE_WEIGHT, xapian.Query(a.PERSON + name), 2.0)
            for name in article.people[:5]
        ]
        if not clauses:
            return []
        query = xapian.Query(
            xapian.Query.OP_AND_NOT,
            xapian.Query(xapian.Query.OP_OR, clauses),
            xapian.Query(a.ID + article.id),
        )
        enquire.set_query(query)
        return [self._match(item, False, True) for item in enquire.get_mset(0, limit)]

    def _expanded(self, query: xapian.Query) -> xapian.Query:
        """Pseudo-relevance feedback, as the Whoosh engine does it (docs/relevance.md)."""
        enquire = _enquire(self.db)
        enquire.set_query(query)
        rset = xapian.RSet()
        for item in enquire.get_mset(0, FEEDBACK_DOCS):
            rset.add_document(item.docid)
        if rset.empty():
            return query
        eset = list(enquire.get_eset(FEEDBACK_TERMS, rset, EXACT, _BodyTerms()))
        if not eset:
            return query
        top = max(t.weight for t in eset)
        feedback = [
            # Body terms, as measured: all-text ones scored lower on CACM (0.462 vs 0.492).
            xapian.Query(
                xapian.Query.OP_SCALE_WEIGHT,
                xapian.Query(t.term.decode("utf-8")),
                FEEDBACK_WEIGHT * t.weight / top,
            )
            for t in eset
        ]
        return xapian.Query(
            xapian.Query.OP_AND_MAYBE, query, xapian.Query(xapian.Query.OP_OR, feedback)
        )

    @_reopening
    def completion_keys(self, kind: str, prefix: str, most: int) -> list[tuple[str, int]]:
        start = a.COMPLETE[kind]
        found = []
        for item in self.db.allterms(start + prefix):
            found.append((item.term.decode("utf-8")[len(start) :], int(item.termfreq)))
            if len(found) >= most:
                break
        return found

    @_reopening
    def doc_frequency(self, form: str) -> int:
        """Documents with ``form`` in the body, and in the title (as the Whoosh
        engine counts them)."""
        fields = (a.PREFIXES["body"], a.PREFIXES["title"])
        return sum(int(self.db.get_termfreq(prefix + form)) for prefix in fields)

    @_reopening
    def spellings(self, word: str, deadline: Deadline) -> list[str]:
        """From the words as written that start with ``word``'s first letter: those
        the build counted (``SPELLING_KEY``), and those of documents written since."""
        near: dict[str, int] = {}
        documents: Counter[str] = Counter()
        for item in self.db.allterms(a.SPELLING + word[:1]):
            if deadline.passed():
                return []
            candidate = item.term.decode("utf-8")[len(a.SPELLING) :]
            if _is_near(candidate, word, near):
                documents[candidate] += int(item.termfreq)
        for key in self.db.metadata_keys(a.SPELLING_KEY + word[:1]):
            if deadline.passed():
                return []
            candidate = key.decode("utf-8")[len(a.SPELLING_KEY) :]
            if _is_near(candidate, word, near):
                documents[candidate] += int(self.db.get_metadata(key))
        return heapq.nsmallest(SPELLINGS, near, key=lambda c: (near[c], -documents[c], c))


def _is_near(candidate: str, word: str, near: dict[str, int]) -> bool:
    """Whether ``candidate`` is a spelling to offer for ``word``, at most
    ``SPELLING_EDITS`` away; ``near`` holds those found, with their edits."""
    if candidate not in near:
        if candidate == word or abs(len(candidate) - len(word)) > SPELLING_EDITS:
            return False
        edits = edit_distance(candidate, word, SPELLING_EDITS)
        if edits > SPELLING_EDITS:
            return False
        near[candidate] = edits
    return True


def stored_records(db: xapian.Database) -> list[StoredDoc]:
    """Every article's record, from one match over ``STORED_SLOT`` (one answer a shard)."""
    return [
        stored_doc_of(value) for value in _slot_values(db, xapian.Query.MatchAll, a.STORED_SLOT)
    ]


def _slot_values(db: xapian.Database, query: xapian.Query, slot: int) -> list[bytes]:
    """The distinct values in ``slot`` of the documents ``query`` matches, from a
    value spy in one unweighted match (on a shard server, one answer a shard)."""
    enquire = xapian.Enquire(db)
    enquire.set_weighting_scheme(xapian.BoolWeight())
    enquire.set_query(query)
    spy = xapian.ValueCountMatchSpy(slot)
    enquire.add_matchspy(spy)
    enquire.get_mset(0, 0, db.get_doccount())
    return [value.term for value in spy.values()]


def _page(
    enquire: xapian.Enquire, first: int, count: int, deadline: Deadline
) -> tuple[int | None, list[Any]]:
    """One page of matches, and their total where Xapian knows it exactly without
    counting (a single word: its document frequency), else None."""
    mset = _mset(enquire, first, count, 0, deadline)
    low = mset.get_matches_lower_bound()
    return (int(low) if low == mset.get_matches_upper_bound() else None), list(mset)


def _counted(
    enquire: xapian.Enquire, spies: dict[str, Any], count: int, size: int, deadline: Deadline
) -> tuple[int, list[Any]]:
    """The first ``count`` matches and the exact total of a database of ``size``
    documents, every match seen by ``spies``.

    Raises:
        SearchTimeout: the time limit cut the count short.
    """
    for spy in spies.values():
        enquire.add_matchspy(spy)
    mset = _mset(enquire, 0, count, size, deadline)
    if mset.get_matches_lower_bound() != mset.get_matches_upper_bound():
        raise deadline.timeout()
    return int(mset.get_matches_estimated()), list(mset)


def _mset(
    enquire: xapian.Enquire, first: int, count: int, check_at_least: int, deadline: Deadline
) -> xapian.MSet:
    """Xapian's match under what is left of the time limit.

    Raises:
        SearchTimeout: the limit passed (Xapian stops at it and returns what it has).
    """
    enquire.set_time_limit(max(deadline.remaining(), 0.001))
    mset = enquire.get_mset(first, count, check_at_least)
    deadline.check()
    return mset


class _BodyTerms(xapian.ExpandDecider):
    """Expand only over the body's terms."""

    def __call__(self, term: bytes) -> bool:
        return term.startswith(_BODY)


_BODY = a.PREFIXES["body"].encode()


def _body_form(term: bytes) -> str:
    return term[len(_BODY) :].decode("utf-8")


def _enquire(db: xapian.Database) -> xapian.Enquire:
    """An enquire with BM25 as the Whoosh engine sets it (k1 1.2, b 0.75), measured
    on the judged collections (docs/relevance.md), equal scores ordered by id."""
    enquire = xapian.Enquire(db)
    enquire.set_weighting_scheme(xapian.BM25Weight(BM25_K1, 0, 1, BM25_B, 0.5))
    enquire.set_sort_by_relevance_then_value(a.ID_SLOT, False)
    return enquire


def _with_filter(built: xapian.Query | None, query: EngineQuery) -> xapian.Query:
    """The built query with the people and date filters, adding nothing to scores."""
    filters = [xapian.Query(a.PERSON + name) for name in query.people]
    if query.date_from or query.date_to:
        filters.append(
            xapian.Query(
                xapian.Query.OP_VALUE_RANGE,
                a.DATE_SLOT,
                query.date_from or "",
                query.date_to or "9999",
            )
        )
    if query.ids is not None:
        filters.append(xapian.Query(xapian.Query.OP_OR, [a.ID + doc_id for doc_id in query.ids]))
    base = built if built is not None else xapian.Query.MatchAll
    if not filters:
        return base
    return xapian.Query(xapian.Query.OP_FILTER, base, xapian.Query(xapian.Query.OP_AND, filters))


def _matched_in(
    db: xapian.WritableDatabase, queries: list[EngineQuery], deadline: Deadline
) -> list[set[str]]:
    """The ids each query finds in ``db`` (all of them: a few articles)."""
    enquire = xapian.Enquire(db)
    enquire.set_weighting_scheme(xapian.BoolWeight())
    size = max(1, db.get_doccount())
    found = []
    for query in queries:
        deadline.check()
        enquire.set_query(_with_filter(QueryBuilder(db, deadline).build(query.tree), query))
        mset = enquire.get_mset(0, size)
        found.append({item.document.get_value(a.ID_SLOT).decode("utf-8") for item in mset})
    return found


def _modified(path: Path) -> float:
    return max((stat.st_mtime for stat in file_stats(path)), default=time.time())

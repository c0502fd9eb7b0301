"""Running searches: the per-process view of the served index, and result shaping.

A ``SearchService`` belongs to one worker process. It opens the served generation
on first use (after gunicorn forks, never in the master), and between requests, at
most every ``refresh_interval_s``, looks for a new generation (``CURRENT``
renamed) or a new commit in the same one, and swaps its engine reader. A request
always runs against one reader from start to end, so it never sees a half-built
index; requests of one process take turns on it, since engine readers keep file
positions, and every request runs under one deadline.

A request becomes an ``EngineQuery`` here (the tree of ``q``, filters, order and
the window of the page asked); the engine finds its matches
(``search.engines.base.Reader``); this module suggests a spelling, caches, highlights
and shapes them into ``Results``, the same way for every engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from search import cursors
from search.completions import Completion, complete
from search.deadline import Deadline
from search.engines.base import Reader
from search.errors import IndexUnavailable, NotFound, SearchTimeout
from search.highlight import snippets, whole
from search.model import (
    Article,
    EngineQuery,
    Every,
    Hit,
    Match,
    Matches,
    Recency,
    Results,
    SearchRequest,
)
from search.query import language as ql
from search.query.synonyms import Synonyms, SynonymStore
from search.stores.base import Served, Store
from search.suggestions import suggestion

SIMILAR_LIMIT = 10
# Articles an export reads in one search (a few megabytes of text at most).
EXPORT_BATCH = 500
PEOPLE_FACET_SIZE = 20


@dataclass
class _Open:
    """The generation this process serves from, its current reader, and the results
    cached from that reader."""

    generation: Served
    reader: Reader
    cache: OrderedDict[SearchRequest, Results] = field(default_factory=OrderedDict)
    version: str = ""
    # The synonym set the cached results were found with.
    synonyms: int = 0

    def __post_init__(self) -> None:
        self.version = _version(self.generation, self.reader)

    def use(self, reader: Reader) -> None:
        """Switch to a refreshed reader; results cached from the old one go."""
        self.reader = reader
        self.cache = OrderedDict()
        self.version = _version(self.generation, reader)

    def close(self) -> None:
        self.reader.close()
        self.generation.close()


class SearchService:
    """Searches, documents, similar articles and stats over the served index."""

    def __init__(
        self,
        store: Store,
        time_limit_s: float = 2.0,
        refresh_interval_s: float = 0.5,
        cache_size: int = 256,
        synonyms: SynonymStore | None = None,
    ) -> None:
        """``synonyms`` widens every query with the index folder's synonym set."""
        self.store = store
        self.synonyms = synonyms
        self.time_limit_s = time_limit_s
        self.refresh_interval_s = refresh_interval_s
        self.cache_size = cache_size
        self._open: _Open | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def _current(self, checked: bool = False) -> _Open:
        """The up-to-date view; looks for a new generation or commit at most every
        interval, or now when ``checked`` (what ``/ready`` and ``/stats`` report must
        be true now: a replica that died since the last look is seen dead).

        Raises:
            IndexUnavailable: nothing has been built yet.
        """
        now = time.monotonic()
        fresh_enough = now - self._checked < self.refresh_interval_s
        if self._open is not None and fresh_enough and not checked:
            return self._open
        self._checked = now
        name = self.store.current_name()
        if self._open is not None and name in (None, self._open.generation.name):
            if not self._open.reader.is_current():
                self._open.use(self._open.reader.refreshed())
            return self._open
        generation = self.store.open_current()
        opened = _Open(generation, generation.reader)
        previous, self._open = self._open, opened
        if previous is not None:
            previous.close()
        return opened

    @contextlib.contextmanager
    def _serving(self, deadline: Deadline, checked: bool = False) -> Iterator[_Open]:
        """The current view (see ``_current``), used by this thread alone until the block ends.

        Raises:
            SearchTimeout: other requests held it until the deadline passed.
        """
        if not self._lock.acquire(timeout=deadline.remaining()):
            raise SearchTimeout(
                f"the server was busy with other searches for {deadline.seconds:g}s; try again"
            )
        try:
            yield self._current(checked)
        finally:
            self._lock.release()

    def _deadline(self) -> Deadline:
        return Deadline.after(self.time_limit_s)

    def ready(self) -> dict[str, Any] | None:
        """None until an index can be served; then what ``/ready`` shows of it: for a
        cluster, each shard's replicas (a shard with none answering raises
        ShardUnavailable, naming them)."""
        try:
            with self._serving(self._deadline(), checked=True) as view:
                view.reader.doc_count()
                facts = view.reader.stats()
                return {"shards": facts["shards"]} if "shards" in facts else {}
        except IndexUnavailable:
            return None

    def version(self) -> str:
        """The served index's generation and commit, and the synonym set's version:
        the same in every worker, and another as soon as a reindex or a new synonym
        set changes what a search can find.

        Raises:
            IndexUnavailable: nothing has been built yet.
        """
        index = self._index_version()
        return f"{index}/{self.synonyms.current()[0]}" if self.synonyms else index

    def _index_version(self) -> str:
        """The served index's generation and commit.

        It never waits for other requests, whose time would then not count against
        the search's own limit: while one holds the view (and looks for a newer
        index itself), the view's version as last seen is the answer. Read before a
        search, it is never newer than what the search then finds.

        Raises:
            IndexUnavailable: nothing has been built yet.
        """
        if self._lock.acquire(blocking=False):
            try:
                return self._current().version
            finally:
                self._lock.release()
        opened = self._open
        if opened is not None:
            return opened.version
        with self._serving(self._deadline()) as view:  # the first view is being opened
            return view.version

    def search(self, request: SearchRequest) -> Results:
        """Run one search request, all of it within the time limit.

        Raises:
            InvalidQuery: ``q`` cannot be understood.
            SearchTimeout: it ran past the time limit.
            IndexUnavailable: nothing has been built yet.
        """
        started = time.perf_counter()
        deadline = Deadline.after(self.time_limit_s)
        version, synonyms = self._synonyms()
        with self._serving(deadline) as view:
            if view.synonyms != version:  # results found without the set in use now
                view.cache.clear()
                view.synonyms = version
            cached = view.cache.get(request)
            if cached is not None:
                view.cache.move_to_end(request)
                return replace(cached, took_ms=_elapsed_ms(started))
            query = engine_query(request, synonyms)
            matches, offset = _page(view.reader, request, query, deadline)
            hits = [
                _hit(match, matches.terms, view.reader, request.highlight) for match in matches.hits
            ]
            suggest = request.suggest and not query.everything
            end = offset + len(hits)
            results = Results(
                query=request.q,
                total=matches.total,
                page=offset // request.per_page + 1,
                per_page=request.per_page,
                took_ms=_elapsed_ms(started),
                hits=hits,
                facets={name: _facet_values(name, matches.facets[name]) for name in request.facets},
                suggestion=suggestion(request.q, view.reader, deadline) if suggest else None,
                next_cursor=cursors.next_cursor(
                    request, query.newest_first, end, matches.hits, matches.total
                ),
            )
            if self.cache_size > 0:
                view.cache[request] = results
                if len(view.cache) > self.cache_size:
                    view.cache.popitem(last=False)
            return results

    def export(self, request: SearchRequest) -> Generator[list[Article]]:
        """Every match of ``request``, whole, in its order, ``EXPORT_BATCH`` at a time.

        Each batch is a search of its own, under the time limit, after the last
        batch's cursor (``search.cursors``): a long export never holds this
        process's reader between batches, and a client that stops reading stops it.

        Raises:
            InvalidQuery: ``q`` cannot be understood (before the first batch).
            SearchTimeout: a batch ran past the time limit.
            IndexUnavailable: nothing has been built yet.
        """
        request = replace(request, page=1, per_page=EXPORT_BATCH, cursor=None, facets=())
        while True:
            deadline = self._deadline()
            synonyms = self._synonyms()[1]
            with self._serving(deadline) as view:
                query = engine_query(request, synonyms)
                matches, offset = _page(view.reader, request, query, deadline)
            yield [match.article for match in matches.hits]
            end = offset + len(matches.hits)
            token = cursors.next_cursor(
                request, query.newest_first, end, matches.hits, matches.total
            )
            if token is None:
                return
            request = replace(request, cursor=token)

    def _synonyms(self) -> tuple[int, Synonyms]:
        """The synonym set in use now and its version (none, version 0, without a store)."""
        return self.synonyms.current() if self.synonyms else (0, Synonyms())

    def suggest(self, q: str, limit: int) -> list[Completion]:
        """Completions of the last word of ``q`` (``search.completions``)."""
        deadline = self._deadline()
        with self._serving(deadline) as view:
            return complete(view.reader, q, limit)

    def existing(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` the served index holds (none before the first build)."""
        if not ids:
            return set()
        try:
            with self._serving(self._deadline()) as view:
                return view.reader.holding(ids)
        except IndexUnavailable:
            return set()

    def document(self, doc_id: str) -> Article:
        """The whole stored article.

        Raises:
            NotFound: no article has this id.
        """
        with self._serving(self._deadline()) as view:
            return _document(view.reader, doc_id)

    def similar(self, doc_id: str, limit: int = SIMILAR_LIMIT) -> Results:
        """Articles most like one, itself excluded."""
        started = time.perf_counter()
        # One reader for the whole call: the article and its neighbours come from
        # the same generation even if a new one is published meanwhile.
        with self._serving(self._deadline()) as view:
            article = _document(view.reader, doc_id)
            matches = view.reader.similar(article, limit)
            hits = [_hit(match, frozenset(), view.reader, True) for match in matches]
        return Results(
            query=doc_id,
            total=len(hits),
            page=1,
            per_page=limit,
            took_ms=_elapsed_ms(started),
            hits=hits,
        )

    def stats(self, wait_s: float | None = None) -> dict[str, Any]:
        """Document count, engine, generation and commit, build time, size on disk
        (None when it is on other machines), and each shard's replicas for a cluster.

        Raises:
            SearchTimeout: other requests held the view for ``wait_s`` (default: the
                time limit).
        """
        deadline = self._deadline() if wait_s is None else Deadline.after(wait_s)
        with self._serving(deadline, checked=True) as view:
            facts = view.reader.stats()
            built = dt.datetime.fromtimestamp(facts.pop("built_at"), dt.UTC)
            return {
                "documents": view.reader.doc_count(),
                "engine": view.generation.engine.name,
                "generation": view.generation.name,
                "built_at": built.isoformat(timespec="seconds"),
                "size_bytes": self.store.size_bytes(view.generation.name),
                # A full rebuild serves its articles first and finds people after.
                "people_pending": len(self.store.pending_people()),
                **facts,  # the commit, and what else the engine tells (a cluster's shards)
            }


def engine_query(request: SearchRequest, synonyms: Synonyms | None = None) -> EngineQuery:
    """What the engine matches for ``request``: its tree (a bag of words with
    ``match=any``) widened by ``synonyms``, filters, order and the window of the
    page asked.

    Raises:
        InvalidQuery: ``q`` cannot be understood.
    """
    tree = ql.parse(request.q) if request.match == "all" else ql.plain(request.q)
    if synonyms:
        tree = synonyms.expand(tree)
    newest_first = _date_order(request, isinstance(tree, Every))
    recency = Recency(request.recency_days) if request.recency_days else None
    return EngineQuery(
        tree=tree,
        people=request.people,
        date_from=request.date_from,
        date_to=request.date_to,
        newest_first=newest_first,
        offset=(request.page - 1) * request.per_page,
        limit=request.per_page,
        facets=request.facets,
        collapse=request.collapse,
        feedback=request.expand,
        recency=recency if newest_first is None else None,
    )


def _page(
    reader: Reader, request: SearchRequest, query: EngineQuery, deadline: Deadline
) -> tuple[Matches, int]:
    """The page ``request`` asks for, by number or after its cursor, and its offset.

    Raises:
        InvalidParameter: the cursor is not one of this search's.
    """
    if request.cursor is None:
        return reader.search(query, deadline), query.offset

    def window(offset: int, limit: int) -> Matches:
        return reader.search(replace(query, offset=offset, limit=limit), deadline)

    return cursors.after(request, cursors.decode(request.cursor), query.newest_first, window)


def _date_order(request: SearchRequest, everything: bool) -> bool | None:
    """True newest first, False oldest first, None by relevance. ``everything`` (an
    empty query) has no relevance, so it lists the newest first."""
    if request.sort == "date" or (request.sort == "relevance" and everything):
        return True
    if request.sort == "-date":
        return False
    return None


def _version(generation: Served, reader: Reader) -> str:
    return f"{generation.name}/{reader.stats()['commit']}"


def _document(reader: Reader, doc_id: str) -> Article:
    article = reader.document(doc_id)
    if article is None:
        raise NotFound(f"no document with id {doc_id!r}")
    return article


def _hit(match: Match, terms: frozenset[str], reader: Reader, highlight: bool) -> Hit:
    """The API's hit: the article's public fields and its highlights."""
    article = match.article
    highlights: dict[str, Any] = {}
    if highlight:
        highlights = {
            "title": whole(article.title, terms, reader.analyzed),
            "body": snippets(article.body, terms, form=reader.analyzed),
        }
    return Hit(
        id=article.id,
        score=match.score,
        title=article.title,
        date=article.date,
        people=list(article.people),
        url=article.url,
        highlights=highlights,
        duplicates=match.duplicates,
    )


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _facet_values(name: str, counts: Counter[str]) -> list[dict[str, Any]]:
    items = [(value, count) for value, count in counts.items() if value]
    items.sort(key=lambda item: (-item[1], str(item[0])))
    if name == "people":
        items = items[:PEOPLE_FACET_SIZE]
    return [{"value": value, "count": count} for value, count in items]

"""Running searches: the per-process view of the served index, and result shaping.

A ``SearchService`` belongs to one worker process. It opens the served generation
on first use (after gunicorn forks, never in the master), and between requests, at
most every ``refresh_interval_s``, looks for a new generation (``CURRENT``
renamed) or a new commit in the same one, and swaps its Whoosh searcher. A request
always runs against one searcher from start to end, so it never sees a half-built
index.

Results come back as plain dataclasses (``Results``, ``Hit``) so the HTTP layer
never touches Whoosh.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from whoosh import collectors, sorting
from whoosh import query as wq

from search.deadline import Deadline
from search.documents import Article
from search.errors import IndexUnavailable, NotFound, SearchTimeout
from search.highlight import analyzed, snippets, whole
from search.query import QueryBuilder, SearchRequest, positive_terms, query_words
from search.schema import from_stored
from search.store import Generation, IndexStore

RARE_DOC_FREQUENCY = 1
SIMILAR_TERMS = 20
SIMILAR_LIMIT = 10
PEOPLE_FACET_SIZE = 20
DEADLINE_CHECK_EVERY = 128
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 20
FEEDBACK_WEIGHT = 0.5


@dataclass
class Hit:
    """One result as the API shows it."""

    id: str
    score: float | None
    title: str
    date: str | None
    people: list[str]
    url: str | None
    highlights: dict[str, Any]
    duplicates: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        shown = {
            "id": self.id,
            "score": self.score,
            "title": self.title,
            "date": self.date,
            "people": self.people,
            "url": self.url,
            "highlights": self.highlights,
        }
        if self.duplicates is not None:
            shown["duplicates"] = self.duplicates
        return shown


@dataclass
class Results:
    """A page of hits with totals, facets and a spelling suggestion."""

    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    suggestion: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": self.took_ms,
            "hits": [hit.as_dict() for hit in self.hits],
            "facets": self.facets,
            "suggestion": self.suggestion,
        }


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


class FacetTable:
    """Each document's facet values, read once per searcher, to count any set of matches.

    Whoosh's own facet collectors score every match and re-read a multi-valued
    field's postings on every search; here ``people`` comes from one pass over its
    postings and ``month``/``year`` from their columns, segment by segment (a
    segment with no dated article has no such column), kept until the searcher
    changes.
    """

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self._values: dict[str, Any] = {}

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

    def counts(self, name: str, docnums: Iterable[int]) -> Counter[str]:
        if name not in self._values:
            self._values[name] = self._people() if name == "people" else self._column(name)
        values = self._values[name]
        if name == "people":
            return Counter(person for docnum in docnums for person in values.get(docnum, ()))
        return Counter(values[docnum] for docnum in docnums)


@dataclass
class _Open:
    """The generation this process serves from, its current searcher, and what is
    derived from that searcher (facet values, cached results)."""

    generation: Generation
    searcher: Any
    builder: QueryBuilder
    facets: FacetTable = field(init=False)
    cache: OrderedDict[SearchRequest, Results] = field(init=False)

    def __post_init__(self) -> None:
        self.use(self.searcher)

    def use(self, searcher: Any) -> None:
        """Switch to a refreshed searcher; what was derived from the old one goes."""
        self.searcher = searcher
        self.facets = FacetTable(searcher.reader())
        self.cache = OrderedDict()

    def close(self) -> None:
        self.searcher.close()
        self.generation.close()


class SearchService:
    """Searches, documents, similar articles and stats over the served index."""

    def __init__(
        self,
        store: IndexStore,
        time_limit_s: float = 2.0,
        refresh_interval_s: float = 0.5,
        cache_size: int = 256,
    ) -> None:
        self.store = store
        self.time_limit_s = time_limit_s
        self.refresh_interval_s = refresh_interval_s
        self.cache_size = cache_size
        self._open: _Open | None = None
        self._checked = float("-inf")
        # Whoosh's readers share file positions: one request at a time uses them.
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def _current(self) -> _Open:
        """The up-to-date view; looks for a new generation or commit at most every interval.

        Raises:
            IndexUnavailable: nothing has been built yet.
        """
        now = time.monotonic()
        if self._open is not None and now - self._checked < self.refresh_interval_s:
            return self._open
        self._checked = now
        name = self.store.current_name()
        if self._open is not None and name in (None, self._open.generation.name):
            if not self._open.searcher.up_to_date():
                self._open.use(self._open.searcher.refresh())
            return self._open
        generation = self.store.open_current()
        opened = _Open(
            generation, generation.index.searcher(), QueryBuilder(generation.index.schema)
        )
        previous, self._open = self._open, opened
        if previous is not None:
            previous.close()
        return opened

    @contextlib.contextmanager
    def _serving(self, deadline: Deadline) -> Iterator[_Open]:
        """The current view, used by this thread alone until the block ends.

        Raises:
            SearchTimeout: other requests held it until the deadline passed.
        """
        if not self._lock.acquire(timeout=deadline.remaining()):
            raise SearchTimeout(
                f"the server was busy with other searches for {deadline.seconds:g}s; try again"
            )
        try:
            yield self._current()
        finally:
            self._lock.release()

    def _deadline(self) -> Deadline:
        return Deadline.after(self.time_limit_s)

    def ready(self) -> bool:
        try:
            with self._serving(self._deadline()) as view:
                return bool(view.searcher.doc_count() >= 0)
        except IndexUnavailable:
            return False

    def search(self, request: SearchRequest) -> Results:
        """Run one search request, all of it within the time limit.

        Raises:
            InvalidQuery: ``q`` cannot be understood.
            SearchTimeout: it ran past the time limit.
            IndexUnavailable: nothing has been built yet.
        """
        started = time.perf_counter()
        deadline = Deadline.after(self.time_limit_s)
        with self._serving(deadline) as view:
            cached = view.cache.get(request)
            if cached is not None:
                view.cache.move_to_end(request)
                return replace(cached, took_ms=_elapsed_ms(started))
            results = self._search(view, request, deadline)
            results.took_ms = _elapsed_ms(started)
            if self.cache_size > 0:
                view.cache[request] = results
                if len(view.cache) > self.cache_size:
                    view.cache.popitem(last=False)
            return results

    def _search(self, view: _Open, request: SearchRequest, deadline: Deadline) -> Results:
        searcher = view.searcher
        parsed = view.builder.parse(request.q, searcher.reader(), request.match, deadline)
        collector = self._collector(searcher, request, parsed is None, deadline)
        matching = _with_filter(parsed, request)
        if request.expand and parsed is not None:
            matching = _with_filter(_expanded(searcher, parsed, matching), request)
        searcher.search_with_collector(matching, collector)
        results = collector.results()
        terms = _highlight_terms(parsed) if parsed is not None else frozenset()
        first = (request.page - 1) * request.per_page
        scored = _sort(request, parsed is None)[0] is None
        hits = [
            self._hit(searcher, hit, terms, request.highlight, request.collapse, scored)
            for hit in list(results)[first : first + request.per_page]
        ]
        total = len(results.groups("_story")) if request.collapse else len(results)
        docnums = results.docs() if request.facets else ()
        facets = {
            name: _facet_values(name, view.facets.counts(name, docnums)) for name in request.facets
        }
        return Results(
            query=request.q,
            total=total,
            page=request.page,
            per_page=request.per_page,
            took_ms=0.0,
            hits=hits,
            facets=facets,
            suggestion=self._suggest(searcher, request.q, deadline)
            if parsed is not None and request.suggest
            else None,
        )

    def _collector(
        self, searcher: Any, request: SearchRequest, everything: bool, deadline: Deadline
    ) -> Any:
        """Top-N (or sorting) collector, under the deadline, faceted, collapsed by story.

        Facets count every matching article; with ``collapse`` the ``_story``
        facet counts the distinct stories, which is what ``total`` then reports.
        """
        limit = request.page * request.per_page
        sortedby, reverse = _sort(request, everything)
        base: Any
        if sortedby:
            base = collectors.SortingCollector(sortedby, limit=limit, reverse=reverse)
        elif limit >= searcher.doc_count():
            base = collectors.UnlimitedCollector()
        else:
            # Counting every match as it goes costs less than matching the query a
            # second time just to count.
            base = ExactTopCollector(limit)
        collector: Any = DeadlineCollector(base, deadline)
        if request.collapse:
            stories = {"_story": sorting.FieldFacet("story", maptype=sorting.Count)}
            collector = collectors.FacetCollector(collector, stories)
            collector = collectors.CollapseCollector(collector, "story", limit=1)
        return collector

    def _hit(
        self,
        searcher: Any,
        hit: Any,
        terms: frozenset[str],
        highlight: bool,
        collapsed: bool = False,
        scored: bool = True,
    ) -> Hit:
        """Shape one hit; ``scored`` is false when sorted by date (score is then null)."""
        stored = hit.fields()
        body = stored.get("body", "")
        title = stored.get("title", "")
        highlights: dict[str, Any] = {}
        if highlight:
            highlights = {"title": whole(title, terms), "body": snippets(body, terms)}
        duplicates = None
        if collapsed:
            ids = searcher.reader().column_reader("id")
            members = searcher.docs_for_query(wq.Term("story", stored.get("story", stored["id"])))
            duplicates = sorted(ids[docnum] for docnum in members if docnum != hit.docnum)
        return Hit(
            id=stored["id"],
            score=round(float(hit.score), 4) if scored else None,
            title=title,
            date=stored.get("date"),
            people=list(stored.get("people_list") or []),
            url=stored.get("url"),
            highlights=highlights,
            duplicates=duplicates,
        )

    def _suggest(self, searcher: Any, q: str, deadline: Deadline) -> str | None:
        """A did-you-mean query when typed words are unknown or rare in the index.

        The results are found by then: a suggestion that would run past the
        deadline is left out rather than failing the search.
        """
        reader = searcher.reader()
        corrector = searcher.corrector("body")
        suggestion = q
        for word in dict.fromkeys(query_words(q)):
            if deadline.passed():
                return None
            lower = word.lower()
            form = analyzed(lower)
            if form is None:
                continue
            frequency = reader.doc_frequency("body", form) + reader.doc_frequency("title", form)
            if frequency > RARE_DOC_FREQUENCY:
                continue
            for candidate in corrector.suggest(lower, limit=3, maxdist=2, prefix=1):
                candidate_form = analyzed(candidate)
                if (
                    candidate != lower
                    and candidate_form
                    and reader.doc_frequency("body", candidate_form) > frequency
                ):
                    suggestion = re.sub(rf"\b{re.escape(word)}\b", candidate, suggestion)
                    break
        return suggestion.lower() if suggestion != q else None

    def document(self, doc_id: str) -> Article:
        """The whole stored article.

        Raises:
            NotFound: no article has this id.
        """
        with self._serving(self._deadline()) as view:
            return _document(view.searcher, doc_id)

    def similar(self, doc_id: str, limit: int = SIMILAR_LIMIT) -> Results:
        """Articles most like one: its key body terms and its people, itself excluded."""
        started = time.perf_counter()
        # One searcher for the whole call: the article and its neighbours come
        # from the same generation even if a new one is published meanwhile.
        with self._serving(self._deadline()) as view:
            searcher = view.searcher
            article = _document(searcher, doc_id)
            keys = searcher.key_terms_from_text("body", article.body, numterms=SIMILAR_TERMS)
            clauses = [wq.Term("body", word, boost=weight) for word, weight in keys]
            clauses += [wq.Term("people_exact", name, boost=2.0) for name in article.people[:5]]
            if not clauses:
                return Results(doc_id, 0, 1, limit, 0.0, [])
            results = searcher.search(wq.Or(clauses), limit=limit, mask=wq.Term("id", doc_id))
            hits = [self._hit(searcher, hit, frozenset(), True) for hit in results]
        return Results(
            query=doc_id,
            total=len(hits),
            page=1,
            per_page=limit,
            took_ms=_elapsed_ms(started),
            hits=hits,
        )

    def stats(self) -> dict[str, Any]:
        """Document count, generation and commit, build time, size on disk."""
        with self._serving(self._deadline()) as view:
            index = view.generation.index
            built = index.last_modified()
            return {
                "documents": view.searcher.doc_count(),
                "generation": view.generation.name,
                "commit": index.latest_generation(),
                "built_at": dt.datetime.fromtimestamp(built, dt.UTC).isoformat(timespec="seconds"),
                "size_bytes": self.store.size_bytes(view.generation.name),
            }


def _document(searcher: Any, doc_id: str) -> Article:
    stored = searcher.document(id=doc_id)
    if stored is None:
        raise NotFound(f"no document with id {doc_id!r}")
    return from_stored(stored)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _sort(request: SearchRequest, everything: bool) -> tuple[Any, bool]:
    if request.sort == "date" or (request.sort == "relevance" and everything):
        return "date", True
    if request.sort == "-date":
        return "date", False
    return None, False


def _with_filter(parsed: wq.Query | None, request: SearchRequest) -> wq.Query:
    """The query with the people and date filters ANDed in, adding nothing to scores.

    Filters go into the query rather than a filtering collector, which would
    bypass the collapsing collector's own loop.
    """
    clauses: list[wq.Query] = [wq.Term("people_exact", name) for name in request.people]
    if request.date_from or request.date_to:
        clauses.append(wq.TermRange("date", request.date_from, request.date_to))
    base = parsed if parsed is not None else wq.Every()
    if not clauses:
        return base
    return wq.And([base, wq.ConstantScoreQuery(wq.And(clauses), 0.0)])


def _expanded(searcher: Any, parsed: wq.Query, first_pass: wq.Query) -> wq.Query:
    """Pseudo-relevance feedback (RM3-style): the query ORed with the key body terms
    of its ``FEEDBACK_DOCS`` best hits, weighted below the words typed.

    Questions in natural language name a topic in other words than the articles
    about it; the top hits' own vocabulary bridges that. Measured on Cranfield
    (README, "Relevance"), it is for bag-of-words searches, not for exact ones.
    """
    docnums = [hit.docnum for hit in searcher.search(first_pass, limit=FEEDBACK_DOCS)]
    keys = searcher.key_terms(docnums, "body", numterms=FEEDBACK_TERMS) if docnums else []
    if not keys:
        return parsed
    top = max(weight for _, weight in keys)
    feedback = [
        wq.Term("body", word, boost=FEEDBACK_WEIGHT * weight / top) for word, weight in keys
    ]
    return wq.Or([parsed, *feedback])


def _highlight_terms(parsed: wq.Query) -> frozenset[str]:
    """Index forms to mark in titles and bodies: text terms, and people words analysed."""
    forms = set()
    for fieldname, text in positive_terms(parsed):
        if fieldname in ("title", "body"):
            forms.add(text)
        elif fieldname == "people":
            forms.add(analyzed(text) or text)
    return frozenset(forms)


def _facet_values(name: str, counts: dict[Any, int]) -> list[dict[str, Any]]:
    items = [(value, count) for value, count in counts.items() if value]
    items.sort(key=lambda item: (-item[1], str(item[0])))
    if name == "people":
        items = items[:PEOPLE_FACET_SIZE]
    return [{"value": value, "count": count} for value, count in items]

r"""The shared vocabulary: what flows from files to the index, and from a request
to its results, for every engine.

An ``Article`` is what ingest makes of a file or a push and what an engine stores
(``IndexDoc`` pairs it with its MinHash signature); a reindex answers a ``Summary``
of what it did, with the ``Skipped`` files and their reasons. A validated
``/search`` request (``SearchRequest``) becomes, in the service, an ``EngineQuery``:
the tree of ``q`` (``search.query.language``), filters, order, window, facets,
collapse and feedback. An engine only matches it and answers ``Matches``; paging,
order, field weights and the suggestion are decided above the seam, once for every
engine, and the service shapes ``Results`` of ``Hit``\ s as the API shows them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

ARTICLE_FIELDS = ("id", "title", "date", "people", "body", "url", "source")


@dataclass
class Article:
    """One indexed article: the contract's fields plus what the index needs to manage it."""

    id: str
    title: str
    body: str
    date: str | None = None
    people: list[str] = field(default_factory=list)
    url: str | None = None
    source: str | None = None
    story: str = ""
    path: str = ""
    content_hash: str = ""
    # A title made from the lead sentence of an article without a headline: shown,
    # searchable with ``title:``, but not weighted as a headline (docs/relevance.md).
    title_derived: bool = False

    def public(self) -> dict[str, Any]:
        """The fields the API shows for a whole document."""
        return {name: getattr(self, name) for name in ARTICLE_FIELDS}

    @property
    def story_key(self) -> str:
        """The story ``collapse`` folds this article under, as every engine indexes
        it: an article the indexer gave no story is a story of its own."""
        return self.story or self.id


# An article and its MinHash signature, as the indexer hands them to an engine.
IndexDoc: TypeAlias = tuple[Article, bytes]


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
    recency_days: float | None = None
    # A previous page's ``next_cursor`` (``search.cursors``): the page after it.
    cursor: str | None = None


# The tree of ``q``: ``search.query.language`` parses it, each engine compiles it.


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


@dataclass(frozen=True)
class Recency:
    """``recency=<half-life>``, defined once for every engine (docs/api.md, "Recency").

    An article's score is its text score plus a recency part: ``SHARE`` of the
    query's best text score, halved for every half-life of the article's age. Ages
    count from the newest article's date (today at most), so an archive's newest
    stories count as new; an undated article has no recency part. Being added,
    the recency part orders articles that match alike, newest first, while an
    article that matches far better than a new one stays above it.
    """

    half_life_days: float
    SHARE: ClassVar[float] = 0.5
    # Beyond this many half-lives the recency part is under a thousandth: none.
    HORIZON: ClassVar[int] = 10

    def origin(self, newest: str | None, today: dt.date | None = None) -> dt.date:
        """The day ages count from: the newest article's, today's at most."""
        today = today or dt.date.today()
        newest_day = _day(newest)
        return min(newest_day, today) if newest_day else today

    def decay(self, day: str | None, origin: dt.date) -> float:
        """The recency part of an article of ``day`` relative to the best score (0 to 1)."""
        when = _day(day)
        if when is None:
            return 0.0
        return 2.0 ** (-max((origin - when).days, 0) / self.half_life_days)

    def days(self, origin: dt.date, oldest: str, newest: str) -> Iterator[tuple[str, float]]:
        """Each day from ``oldest`` to ``newest`` with a recency part, and that part."""
        first, last = _day(oldest), _day(newest)
        if first is None or last is None:
            return
        horizon = dt.timedelta(days=min(int(self.HORIZON * self.half_life_days), 10**6))
        day = max(first, origin - horizon)
        while day <= last:
            yield day.isoformat(), self.decay(day.isoformat(), origin)
            day += dt.timedelta(days=1)

    def boost(self, best: float) -> float:
        """What a recency part of 1 adds to a score when the best match scored ``best``."""
        return self.SHARE * best


def _day(text: str | None) -> dt.date | None:
    """A YYYY-MM-DD date, or None for none (or one that is not a day)."""
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class EngineQuery:
    """What an engine is asked to match.

    ``tree`` is ``Every`` for every article; ``newest_first`` is None to order
    by relevance (then by id), True or False to order by date (then by id);
    ``offset`` and ``limit`` are the window of matches to return; ``facets`` are
    counted over all matches, and ``collapse`` counts and returns one article a
    story; ``feedback`` adds the best hits' own words to the score
    (docs/relevance.md) without matching more; ``recency`` adds each article's
    recency part (with relevance order only); ``ids``, when given, are the only
    articles that may match (alerts match new articles so).
    """

    tree: Node = Every()
    people: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    newest_first: bool | None = None
    offset: int = 0
    limit: int = 10
    facets: tuple[str, ...] = ()
    collapse: bool = False
    feedback: bool = False
    recency: Recency | None = None
    ids: tuple[str, ...] | None = None

    @property
    def everything(self) -> bool:
        """Whether ``q`` matches every article (then only filters narrow it)."""
        return isinstance(self.tree, Every)


@dataclass(frozen=True)
class StoredDoc:
    """What an incremental reindex needs to know of an indexed article."""

    id: str
    path: str
    content_hash: str
    story: str
    minhash: bytes


@dataclass
class Match:
    """One matching article of a window, with what the engine knows of it."""

    article: Article
    score: float | None
    duplicates: list[str] | None = None


@dataclass
class Matches:
    """One window of a search, from one snapshot.

    ``total`` is exact (stories with ``collapse``); ``facets`` counts each asked
    facet's values over all matches; ``terms`` are the index forms a hit matched
    on, for highlighting with ``Reader.analyzed``.
    """

    total: int
    hits: list[Match]
    facets: dict[str, Counter[str]] = field(default_factory=dict)
    terms: frozenset[str] = frozenset()


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
    """A page of hits with totals, facets, a spelling suggestion and the cursor of
    the next page (None after the last)."""

    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    suggestion: str | None = None
    next_cursor: str | None = None

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
            "next_cursor": self.next_cursor,
        }


@dataclass(frozen=True)
class Skipped:
    """A file, or one record of it, that could not be used, and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass
class Summary:
    """What a reindex did, counted in articles."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    documents: int = 0
    generation: str | None = None
    full: bool = False
    seconds: float = 0.0
    # The ids of the articles added or changed, for alerts (not in the summary shown).
    changed: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "skipped": [{"path": s.path, "line": s.line, "reason": s.reason} for s in self.skipped],
            "documents": self.documents,
            "generation": self.generation,
            "full": self.full,
            "seconds": round(self.seconds, 2),
        }

    def render(self) -> str:
        rate = (self.added + self.updated) / self.seconds if self.seconds else 0.0
        lines = [
            f"{'Full rebuild' if self.full else 'Reindex'} done in {self.seconds:.1f}s "
            f"({rate:.0f} articles/s): {self.added} added, {self.updated} updated, "
            f"{self.deleted} deleted, {self.unchanged} unchanged, {len(self.skipped)} skipped.",
            f"Index now holds {self.documents} articles (generation {self.generation}).",
        ]
        lines += [f"  skipped {item}" for item in self.skipped]
        return "\n".join(lines)

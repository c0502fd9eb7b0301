"""The vocabulary the service and the engines share at the seam.

The service turns a validated ``/search`` request into an ``EngineQuery``: the tree
of ``q`` (``search.query_language``), filters, order, window, facets, collapse and
feedback. An engine only matches it and answers ``Matches``; paging, order, field
weights and the suggestion are decided above the seam, once for every engine.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from search import query_language as ql
from search.documents import Article


@dataclass(frozen=True)
class EngineQuery:
    """What an engine is asked to match.

    ``tree`` is ``ql.Every`` for every article; ``newest_first`` is None to order
    by relevance (then by id), True or False to order by date (then by id);
    ``offset`` and ``limit`` are the window of matches to return; ``facets`` are
    counted over all matches, and ``collapse`` counts and returns one article a
    story; ``feedback`` adds the best hits' own words to the score
    (docs/relevance.md) without matching more.
    """

    tree: ql.Node = ql.Every()
    people: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    newest_first: bool | None = None
    offset: int = 0
    limit: int = 10
    facets: tuple[str, ...] = ()
    collapse: bool = False
    feedback: bool = False

    @property
    def everything(self) -> bool:
        """Whether ``q`` matches every article (then only filters narrow it)."""
        return isinstance(self.tree, ql.Every)


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

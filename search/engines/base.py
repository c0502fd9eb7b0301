"""The seam: what an engine must implement for the indexer, the searcher and the API.

Everything above this line is engine-neutral: request parsing (``search.query.params``),
the ``EngineQuery`` a request becomes, paging, order, suggestions, results and
highlighting, the result cache and refresh cadence (``search.service``),
generations and locks on disk (``search.stores.local``), and extraction. An engine turns
articles into an index in a folder it is given, and matches ``EngineQuery`` trees
over one snapshot of it. A new engine implements ``Engine`` and ``Reader`` in a
package of its own under ``search/engines/`` and registers its name in
``search.engines.ENGINES``; nothing outside that package imports its library.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from search.completions import Completer
from search.deadline import Deadline
from search.model import Article, EngineQuery, IndexDoc, Match, Matches, StoredDoc
from search.shards import Shards
from search.suggestions import Speller


class Reader(Speller, Completer, Protocol):
    """A snapshot of one index, used by one request at a time; its vocabulary
    (``Speller``) gives highlighting its word forms and the service its suggestion,
    its completion keys (``Completer``) the completions of ``/suggest``."""

    def search(self, query: EngineQuery, deadline: Deadline) -> Matches:
        """Raises InvalidQuery for a tree that expands too far, SearchTimeout past ``deadline``."""
        ...

    def document(self, doc_id: str) -> Article | None: ...

    def holding(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` this snapshot has (a push's "created" or "updated")."""
        ...

    def similar(self, article: Article, limit: int) -> list[Match]:
        """Articles most like ``article``, itself excluded."""
        ...

    def matching(
        self, queries: Sequence[EngineQuery], ids: Sequence[str], deadline: Deadline
    ) -> list[set[str]]:
        """For each query, which of ``ids`` it finds, as ``search`` would (alerts)."""
        ...

    def doc_count(self) -> int: ...

    def stored_docs(self) -> list[StoredDoc]: ...

    def stats(self) -> dict[str, Any]:
        """Engine facts for ``/stats``: at least ``commit`` and ``built_at`` (epoch seconds)."""
        ...

    def is_current(self) -> bool:
        """Whether the index on disk has no newer commit than this snapshot."""
        ...

    def refreshed(self) -> Reader:
        """A snapshot of the newest commit (this one is closed)."""
        ...

    def close(self) -> None: ...


def search_each(
    reader: Reader, queries: Sequence[EngineQuery], ids: Sequence[str], deadline: Deadline
) -> list[set[str]]:
    """``Reader.matching`` the plain way: each query searched among ``ids``."""
    found = []
    for query in queries:
        window = replace(query, ids=tuple(ids), offset=0, limit=max(1, len(ids)))
        found.append({match.article.id for match in reader.search(window, deadline).hits})
    return found


def file_stats(folder: Path) -> list[os.stat_result]:
    """The status of each file under ``folder``, an index's or its generation's. A
    commit renames and removes files as this looks (a Whoosh merge's old segments
    and TOC, Xapian's ``v.tmp``): those are left out, where the ``stat`` of a file
    listed a moment before failed ``/stats``, one look in a few hundred."""
    found = []
    for parent, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                found.append(os.stat(os.path.join(parent, name)))
    return found


# Told of each replica a cluster reader stops using: its shard and address.
Failover = Callable[[int, str], None]


class Cluster(Protocol):
    """An index spread over shards of replicas on other machines, written and read
    through the engine's own remote protocol."""

    def open(self, on_failover: Failover | None = None) -> Reader:
        """A reader over every shard; ``on_failover(shard, replica)`` is told of each
        replica it stops using."""
        ...

    def newest_commit(self) -> int:
        """The number of the last run any replica holds (0: never written)."""
        ...

    def is_current_format(self) -> bool:
        """Whether the newest run was written with this version's fields (see
        ``Engine.is_current_format``)."""
        ...

    def write(
        self, delete_ids: Iterable[str], articles: Iterable[IndexDoc], full: bool
    ) -> list[tuple[int, str]]:
        """Write one run to every replica that can take it (an incremental run first
        catches up stale replicas, as ``catch_up``); returns what could not be
        written (each its shard, and the replica and the reason), which then is not
        served."""
        ...

    def catch_up(self) -> list[str]:
        """Copy into each replica that missed runs what its shard's newest replica
        holds; returns what could not be (each a replica and the reason)."""
        ...

    def can_catch_up(self) -> bool:
        """Whether ``catch_up`` has a replica to copy into (a probe, no write)."""
        ...


class Engine(Protocol):
    """Creates, updates and opens the indexes of one engine."""

    name: str
    # The least time the writer of pushed articles leaves between two commits, for
    # an engine whose readers lose the revision they read to later commits.
    commit_gap_s: float

    def build(self, path: Path, articles: Iterable[IndexDoc], procs: int) -> None:
        """Write a whole new index into the empty folder ``path`` and check it.

        ``articles`` pairs each article with its MinHash signature (stored for
        incremental runs). Raises ReindexError when the result fails its check.
        """
        ...

    def apply(self, path: Path, delete_ids: Iterable[str], articles: Iterable[IndexDoc]) -> None:
        """Delete and add (or replace) articles in one atomic commit; on failure,
        remove what was written and leave the last commit intact."""
        ...

    def open(self, path: Path) -> Reader: ...

    def is_current_format(self, path: Path) -> bool:
        """Whether the index at ``path`` has this version's fields; an older one is
        served as it is until a reindex rebuilds it in full."""
        ...

    def cluster(self, shards: Shards, timeout_s: float) -> Cluster:
        """The index on ``shards``; ``timeout_s`` bounds each remote call.

        Raises:
            ReindexError: the engine cannot be sharded.
        """
        ...

"""Xapian, the C++ engine for archives that outgrow Whoosh (``pip install '.[xapian]'``).

The only package that imports ``xapian`` (GPL-licensed: see docs/engines.md). Terms come
from our own analysis (``analysis``), queries from our own parse (``parse``), so
the query language means the same here as on Whoosh.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import xapian

from search.engines.base import Failover
from search.engines.xapian import cluster, writer
from search.engines.xapian.reader import XapianReader
from search.errors import ReindexError
from search.model import IndexDoc
from search.shards import Shards


class XapianEngine:
    """One Xapian (glass) database per generation folder."""

    name = "xapian"
    # Xapian discards a revision once two newer ones are committed, and a worker
    # then reads its search again on the newest: a writer committing as fast as
    # pushes come (every few milliseconds under a steady push) made every search
    # longer than that fail, however often it was tried (``reader._reopening``).
    commit_gap_s = 0.25

    def build(self, path: Path, articles: Iterable[IndexDoc], procs: int) -> None:
        try:
            writer.build(path, articles, procs)
        except xapian.Error as exc:
            raise ReindexError(f"cannot write the new index: {exc}") from exc

    def apply(self, path: Path, delete_ids: Iterable[str], articles: Iterable[IndexDoc]) -> None:
        try:
            writer.apply(path, delete_ids, articles)
        except xapian.Error as exc:
            raise ReindexError(
                f"cannot write the index: {exc}; the served index is unchanged"
            ) from exc

    def open(self, path: Path) -> XapianReader:
        return XapianReader(path)

    def is_current_format(self, path: Path) -> bool:
        return writer.is_current_format(path)

    def cluster(self, shards: Shards, timeout_s: float) -> XapianCluster:
        return XapianCluster(shards, timeout_s)


class XapianCluster:
    """Shards of replicas served by ``xapian-tcpsrv --writable`` (see ``cluster``)."""

    def __init__(self, shards: Shards, timeout_s: float) -> None:
        self.shards = shards
        self.timeout_s = timeout_s

    def open(self, on_failover: Failover | None = None) -> cluster.ClusterReader:
        return cluster.ClusterReader(self.shards, self.timeout_s, on_failover)

    def newest_commit(self) -> int:
        return cluster.newest_commit(self.shards)

    def is_current_format(self) -> bool:
        return cluster.is_current_format(self.shards)

    def write(
        self, delete_ids: Iterable[str], articles: Iterable[IndexDoc], full: bool
    ) -> list[tuple[int, str]]:
        return cluster.write(self.shards, delete_ids, articles, full)

    def catch_up(self) -> list[str]:
        return cluster.catch_up(self.shards)

    def can_catch_up(self) -> bool:
        return cluster.can_catch_up(self.shards)

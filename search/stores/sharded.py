"""A sharded index as the indexer and the searcher see it: an ``IndexStore`` whose
articles live on remote replicas (``--shards``), any engine that can be sharded.

The articles are the cluster's (``search.engines.base.Cluster``); the local folder
keeps what belongs to the machine that runs the reindex: the one-writer lock and
the files skipped whole. There are no local generations: a full rebuild rewrites
each replica in one transaction, so the served name stays ``shards`` and readers
pick up each commit as they would a commit into a served generation.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from search import engines
from search.config import Settings
from search.engines.base import Cluster, Engine, Failover, Reader
from search.errors import ReindexError, ReplicasMissed
from search.model import IndexDoc, StoredDoc
from search.shards import Shards
from search.stores.local import SKIPPED, IndexStore

NAME = "shards"
# The engine a sharded index is built with unless told otherwise: the one that shards.
SHARDED_ENGINE = "xapian"


class ClusterView:
    """What ``SearchService`` holds of the served index, for a cluster."""

    name = NAME

    def __init__(self, engine: Engine, reader: Reader) -> None:
        self.engine = engine
        self.reader = reader

    def close(self) -> None:
        """Nothing local to let go of; the reader closes its connections."""


class ClusterStore(IndexStore):
    """The index on ``shards``, with its lock and skipped files under ``root``."""

    def __init__(
        self,
        root: Path,
        shards: Shards,
        engine: str,
        timeout_s: float,
        on_failover: Failover | None = None,
    ) -> None:
        super().__init__(root)
        self.shards = shards
        self.engine = engines.load(engine)
        self.cluster: Cluster = self.engine.cluster(shards, timeout_s)
        self.on_failover = on_failover

    @property
    def default_engine(self) -> str:
        return self.engine.name

    def current_name(self) -> str | None:
        return NAME

    def current_engine(self) -> str | None:
        return self.engine.name if self.cluster.newest_commit() > 0 else None

    def current_format(self) -> bool:
        return self.cluster.is_current_format()

    # The replicas are written once a run, people included.
    serves_before_people = False

    def pending_people(self) -> list[str]:
        return []

    def open_current(self) -> ClusterView:  # type: ignore[override]
        return ClusterView(self.engine, self.cluster.open(self.on_failover))

    def stored_docs(self) -> list[StoredDoc]:
        if self.cluster.newest_commit() == 0:
            return []
        reader = self.cluster.open()
        try:
            return reader.stored_docs()
        finally:
            reader.close()

    def build(
        self,
        articles: Iterable[IndexDoc],
        engine: str,
        procs: int = 1,
        pending_people: Iterable[str] = (),
        skipped: dict[str, tuple[str, str]] | None = None,
    ) -> str:
        if engine != self.engine.name:
            raise ReindexError(f"the shards hold a {self.engine.name} index, not {engine}")
        self._write((), articles, full=True)
        self.remember_skipped(skipped or {})
        return NAME

    def apply(self, delete_ids: Iterable[str], articles: Iterable[IndexDoc]) -> None:
        self._write(delete_ids, articles, full=False)

    def _write(self, delete_ids: Iterable[str], articles: Iterable[IndexDoc], full: bool) -> None:
        missed = self.cluster.write(delete_ids, articles, full)
        if missed:
            raise ReplicasMissed(
                "the other replicas were written, but not: "
                + "; ".join(missed)
                + ". They are not served until `search-reindex --full` rewrites them."
            )

    def _skipped_path(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / SKIPPED

    def cleanup(self) -> list[str]:
        return []

    def size_bytes(self, name: str) -> int | None:  # type: ignore[override]
        """Unknown here: the bytes are on the replicas' machines."""
        return None


def open_store(settings: Settings, on_failover: Failover | None = None) -> IndexStore:
    """The index the settings name: on ``shards`` when given, else in ``index_dir``.

    Raises:
        InvalidShards: the shards spec cannot be read.
        ReindexError: the engine cannot be sharded or is not installed.
    """
    if not settings.shards:
        return IndexStore(settings.index_dir)
    return ClusterStore(
        settings.index_dir,
        Shards.parse(settings.shards),
        settings.engine or SHARDED_ENGINE,
        settings.search_time_limit_s,
        on_failover,
    )

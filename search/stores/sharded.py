"""A sharded index: an engine's shards of replicas on other machines
(``--shards``), written and read through the engine's own remote protocol
(``search.engines.base.Cluster``); any engine that can be sharded.

The local folder keeps what belongs to the machine that runs the reindex: the
one-writer lock and the files skipped whole. There are no local generations: a
full rebuild rewrites each replica in one transaction, so the served name stays
``shards`` and readers pick up each commit as they would a commit into a served
generation.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from search import engines, phases
from search.engines.base import Cluster, Engine, Failover, Reader
from search.errors import LockHeld, ReindexError, ReplicasMissed
from search.model import IndexDoc, StoredDoc
from search.shards import Shards
from search.stores.base import SkippedFiles
from search.stores.folder import read_skipped, write_json, writer_lock
from search.stores.local import SKIPPED

NAME = "shards"


class ShardedView:
    """The served shards as a search service holds them (``search.stores.base.Served``)."""

    name = NAME

    def __init__(self, engine: Engine, reader: Reader) -> None:
        self.engine = engine
        self.reader = reader

    def close(self) -> None:
        """Nothing local to let go of; the reader closes its connections."""


class ShardedStore:
    """The index on ``shards``, with its lock and skipped files under ``root``
    (``search.stores.base.Store``)."""

    def __init__(
        self,
        root: Path,
        shards: Shards,
        engine: str,
        timeout_s: float,
        on_failover: Failover | None = None,
    ) -> None:
        self.root = root
        self.shards = shards
        self.engine = engines.load(engine)
        self.cluster: Cluster = self.engine.cluster(shards, timeout_s)
        self.on_failover = on_failover

    @property
    def default_engine(self) -> str:
        return self.engine.name

    @property
    def serves_before_people(self) -> bool:
        """The replicas are written once a run, people included."""
        return False

    def writing(self, wait: bool = False, batch: bool = False) -> AbstractContextManager[None]:
        return writer_lock(self.root, wait, batch)

    def current_name(self) -> str | None:
        return NAME

    def current_engine(self) -> str | None:
        return self.engine.name if self.cluster.newest_commit() > 0 else None

    def current_format(self) -> bool:
        return self.cluster.is_current_format()

    def open_current(self) -> ShardedView:
        return ShardedView(self.engine, self.cluster.open(self.on_failover))

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
        skipped: SkippedFiles | None = None,
    ) -> str:
        if engine != self.engine.name:
            raise ReindexError(f"the shards hold a {self.engine.name} index, not {engine}")
        self._write((), articles, full=True)
        self.remember_skipped(skipped or {})
        return NAME

    def apply(self, delete_ids: Iterable[str], articles: Iterable[IndexDoc]) -> None:
        self._write(delete_ids, articles, full=False)

    def _write(self, delete_ids: Iterable[str], articles: Iterable[IndexDoc], full: bool) -> None:
        missed = self.cluster.write(delete_ids, phases.handed_over(articles), full)
        if missed:
            counts = Counter(shard for shard, _ in missed)
            raise ReplicasMissed(
                "the other replicas were written, but not: "
                + "; ".join(reason for _, reason in missed)
                + ". They are not served until they catch up (at the next write once"
                " they answer) or `search-reindex --full` rewrites them.",
                unwritten=tuple(
                    sorted(s for s, n in counts.items() if n >= len(self.shards.replicas[s]))
                ),
            )

    def catch_up(self) -> list[str]:
        """The lock is taken only when a replica can catch up, and not waited for:
        a reindex holding it catches the replicas up as it writes."""
        if not self.cluster.can_catch_up():
            return []
        with contextlib.suppress(LockHeld), self.writing(batch=True):
            return self.cluster.catch_up()
        return []

    def skipped_files(self) -> SkippedFiles:
        return read_skipped(self.root / SKIPPED)

    def remember_skipped(self, skipped: SkippedFiles) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.root / SKIPPED, skipped)

    def pending_people(self) -> list[str]:
        return []

    def set_pending_people(self, ids: list[str]) -> None:
        """Never called: the replicas are written with their people."""

    def cleanup(self) -> list[str]:
        return []

    def size_bytes(self, name: str) -> int | None:
        """Unknown here: the bytes are on the replicas' machines."""
        return None

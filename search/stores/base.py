"""The storage protocol: where an index lives, as the indexer writes it and the
service reads it.

Two stores implement it: ``search.stores.local`` (generations in a folder of this
machine, swapped atomically) and ``search.stores.sharded`` (an engine's shards of
replicas on other machines, written a run at a time through the engine's own
remote protocol). ``search.stores.from_settings.open_store`` picks one from the settings. Both
keep the one-writer lock and the files skipped whole in a local folder
(``search.stores.folder``).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from search.engines.base import Engine, Reader
from search.model import IndexDoc, StoredDoc

# Files a run skipped whole: path -> (content hash, reason), not read again while unchanged.
SkippedFiles = dict[str, tuple[str, str]]


class Served(Protocol):
    """The served index as a search service holds it: its name (a generation, or
    the shards), its engine and a reader of one snapshot."""

    name: str
    engine: Engine
    reader: Reader

    def close(self) -> None:
        """Let go of what keeps it served to this process (not the reader)."""
        ...


class Store(Protocol):
    """An index's home: the served index, its writes, and a run's bookkeeping."""

    @property
    def default_engine(self) -> str:
        """The engine a first build uses when none is asked for."""
        ...

    @property
    def serves_before_people(self) -> bool:
        """Whether a first full build is served before its people are found (they
        are then added in commits), or written once, people included."""
        ...

    def writing(self, wait: bool = False, batch: bool = False) -> AbstractContextManager[None]:
        """Hold the one-writer lock for the duration of a reindex, or of one batch of
        the service's writer (``batch``: a reindex waits for it rather than failing).

        Raises:
            LockHeld: another reindex holds it and ``wait`` is false.
            ReindexError: the local folder cannot be created or written.
        """
        ...

    def current_name(self) -> str | None:
        """The served index's name, or None before the first build."""
        ...

    def current_engine(self) -> str | None:
        """The served index's engine, or None before the first build."""
        ...

    def current_format(self) -> bool:
        """Whether the served index has its engine's current format (True when
        nothing is served)."""
        ...

    def open_current(self) -> Served:
        """The served index, open for reading.

        Raises:
            IndexUnavailable: nothing has been built yet.
        """
        ...

    def stored_docs(self) -> list[StoredDoc]:
        """Every served article, as an incremental reindex sees it."""
        ...

    def build(
        self,
        articles: Iterable[IndexDoc],
        engine: str,
        procs: int = 1,
        pending_people: Iterable[str] = (),
        skipped: SkippedFiles | None = None,
    ) -> str:
        """Write a whole new index with ``engine`` and serve it, with the ids of its
        articles whose people are still to be found and the files its run skipped
        whole; returns its name.

        Raises:
            ReindexError: writing failed; the served index is unchanged.
        """
        ...

    def apply(self, delete_ids: Iterable[str], articles: Iterable[IndexDoc]) -> None:
        """Delete and add articles in the served index, in one atomic commit.

        Raises:
            ReindexError: writing failed; the served commit is unchanged.
        """
        ...

    def catch_up(self) -> list[str]:
        """Bring copies of the index that missed writes (a cluster's replicas that
        were down) up to the rest, under the writer's lock unless another writer
        holds it; what could not be."""
        ...

    def skipped_files(self) -> SkippedFiles:
        """The files the served index's runs skipped whole."""
        ...

    def remember_skipped(self, skipped: SkippedFiles) -> None:
        """Record the files skipped whole (atomically), so that a run that finds them
        unchanged need not read them again."""
        ...

    def pending_people(self) -> list[str]:
        """Ids of served articles whose people are still to be found (in order)."""
        ...

    def set_pending_people(self, ids: list[str]) -> None:
        """Record (atomically) which served articles still wait for their people."""
        ...

    def cleanup(self) -> list[str]:
        """Remove what no longer serves and no process has open; returns its names."""
        ...

    def size_bytes(self, name: str) -> int | None:
        """The served index's size on disk; None when it is on other machines."""
        ...

"""Index generations on disk, for any engine: create, publish, open, lock, clean up.

Layout under the index folder::

    CURRENT                  name of the served generation (replaced atomically)
    reindex.lock             held (flock) by the one reindex allowed at a time
    writer.lock              held by the service's writer around its turns
    gen-<ns>/                one engine index per generation
    gen-<ns>/ENGINE          which engine wrote it (``whoosh`` when absent)
    gen-<ns>/readers         flock'd shared by every process that has it open
    gen-<ns>/skipped.json    files skipped whole, by content hash, not read again
    gen-<ns>/people-pending.json  ids of articles served before their people were found

A full rebuild writes a new generation beside the served one, which the engine
checks (document count and a canary query), and only then renames a new
``CURRENT`` into place, so a run killed at any point leaves the old generation
served. Incremental runs commit into the served generation with the engine's own
atomic commit. A generation is deleted only once no process holds its ``readers``
lock (an ``flock``, dropped by the kernel when a process dies). Each generation
records its engine, so a rebuild with another engine swaps engines as atomically
as it swaps indexes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from search import engines, phases
from search.engines.base import Engine, Reader, file_stats
from search.errors import IndexUnavailable, ReindexError
from search.model import IndexDoc, StoredDoc
from search.stores.base import SkippedFiles
from search.stores.folder import read_skipped, write_json, writer_lock

CURRENT = "CURRENT"
ENGINE = "ENGINE"
SKIPPED = "skipped.json"
PENDING_PEOPLE = "people-pending.json"
READERS = "readers"
PREFIX = "gen-"


def engine_of(path: Path) -> str:
    """The engine that wrote the generation at ``path``."""
    try:
        return (path / ENGINE).read_text().strip() or engines.DEFAULT_ENGINE
    except FileNotFoundError:
        return engines.DEFAULT_ENGINE


class Generation:
    """An open generation: its engine's reader plus a shared lock that keeps it on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self._lock_fd = os.open(path / READERS, os.O_RDONLY | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        try:
            self.engine = engines.load(engine_of(path))
            self.reader: Reader = self.engine.open(path)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


class LocalStore:
    """The generations of one index folder (``search.stores.base.Store``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def default_engine(self) -> str:
        """The engine a first build uses when none is asked for."""
        return engines.DEFAULT_ENGINE

    def current_engine(self) -> str | None:
        """The served generation's engine, or None before the first build."""
        name = self.current_name()
        return None if name is None else engine_of(self.root / name)

    def current_name(self) -> str | None:
        """The served generation's name, or None before the first build."""
        try:
            name = (self.root / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        return name if name.startswith(PREFIX) and (self.root / name).is_dir() else None

    def open_current(self) -> Generation:
        """Open the served generation for reading.

        Raises:
            IndexUnavailable: nothing has been built at this location yet.
        """
        for _ in range(3):
            name = self.current_name()
            if name is None:
                break
            try:
                return Generation(self.root / name)
            except FileNotFoundError:
                continue  # swapped and cleaned between reading CURRENT and opening
        raise IndexUnavailable(f"no index at {self.root}: run search-reindex first")

    def writing(self, wait: bool = False, batch: bool = False) -> AbstractContextManager[None]:
        return writer_lock(self.root, wait, batch)

    def current_format(self) -> bool:
        """Whether the served generation has its engine's current format (True when
        nothing is served)."""
        name = self.current_name()
        if name is None:
            return True
        path = self.root / name
        return engines.load(engine_of(path)).is_current_format(path)

    def stored_docs(self) -> list[StoredDoc]:
        """Every article of the served generation, as incremental reindex sees it."""
        if self.current_name() is None:
            return []
        generation = self.open_current()
        try:
            return generation.reader.stored_docs()
        finally:
            generation.reader.close()
            generation.close()

    def build(
        self,
        articles: Iterable[IndexDoc],
        engine: str,
        procs: int = 1,
        pending_people: Iterable[str] = (),
        skipped: SkippedFiles | None = None,
    ) -> str:
        """Write a new generation with ``engine``, checked by it, and publish it, with
        the ids of its articles whose people are still to be found and the files its
        run skipped whole (see ``remember_skipped``).

        Returns its name.

        Raises:
            ReindexError: writing failed (the disk, say) or the new generation
                failed its checks; it is removed and the old one stays served.
        """
        path = self.root / f"{PREFIX}{time.time_ns()}"
        try:
            path.mkdir(parents=True)
            (path / ENGINE).write_text(engine + "\n")
            engines.load(engine).build(path, phases.handed_over(articles), procs)
            if pending_people:
                write_json(path / PENDING_PEOPLE, sorted(pending_people))
            if skipped:
                write_json(path / SKIPPED, skipped)
        except BaseException as exc:
            shutil.rmtree(path, ignore_errors=True)
            if isinstance(exc, OSError):
                raise ReindexError(
                    f"cannot write the new index: {_reason(exc)}; the served index is unchanged"
                ) from exc
            raise
        self.publish(path.name)
        return path.name

    def apply(self, delete_ids: Iterable[str], articles: Iterable[IndexDoc]) -> None:
        """Delete and add articles in the served generation, in one atomic commit.

        Raises:
            ReindexError: writing failed; what this run wrote is removed, the
                served commit is unchanged and the next run starts clean.
        """
        name = self.current_name()
        if name is None:
            raise IndexUnavailable(f"no index at {self.root}: run search-reindex first")
        path = self.root / name
        engine: Engine = engines.load(engine_of(path))
        try:
            engine.apply(path, delete_ids, phases.handed_over(articles))
        except OSError as exc:
            raise ReindexError(
                f"cannot write the index: {_reason(exc)}; the served index is unchanged"
            ) from exc

    def _skipped_path(self) -> Path | None:
        """Where the served index's skipped files are recorded (None: nothing served)."""
        name = self.current_name()
        return None if name is None else self.root / name / SKIPPED

    def catch_up(self) -> list[str]:
        return []  # one copy on one disk: nothing to catch up

    def skipped_files(self) -> SkippedFiles:
        return read_skipped(self._skipped_path())

    def remember_skipped(self, skipped: SkippedFiles) -> None:
        target = self._skipped_path()
        if target is not None:
            write_json(target, skipped)

    @property
    def serves_before_people(self) -> bool:
        """A first build is served at once; its people are committed in chunks."""
        return True

    def pending_people(self) -> list[str]:
        """Ids of served articles whose people are still to be found (in order)."""
        name = self.current_name()
        try:
            return list(json.loads((self.root / str(name) / PENDING_PEOPLE).read_text()))
        except (OSError, ValueError):
            return []

    def set_pending_people(self, ids: list[str]) -> None:
        """Record (atomically) which served articles still wait for their people, so an
        interrupted run's successor goes on where it stopped."""
        name = self.current_name()
        if name is None:
            return
        target = self.root / name / PENDING_PEOPLE
        if ids:
            write_json(target, ids)
        else:
            target.unlink(missing_ok=True)

    def publish(self, name: str) -> None:
        """Make ``name`` the served generation with one atomic rename."""
        temporary = self.root / f"{CURRENT}.tmp"
        with open(temporary, "w") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        phases.reached("publishing")
        os.replace(temporary, self.root / CURRENT)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def cleanup(self) -> list[str]:
        """Remove generations that are not served and that no process has open."""
        phases.reached("cleanup")
        current = self.current_name()
        removed = []
        for path in sorted(self.root.glob(f"{PREFIX}*")):
            if path.name == current or not path.is_dir():
                continue
            fd = os.open(path / READERS, os.O_RDONLY | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            finally:
                os.close(fd)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        return removed

    def size_bytes(self, name: str) -> int:
        return sum(stat.st_size for stat in file_stats(self.root / name))


def _reason(exc: OSError) -> str:
    return f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")

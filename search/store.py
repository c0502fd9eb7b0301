"""Index generations on disk: create, publish, open, lock and clean up.

Layout under the index folder::

    CURRENT            name of the served generation (replaced atomically)
    reindex.lock       held (flock) by the one reindex allowed at a time
    gen-<ns>/          one Whoosh index per generation
    gen-<ns>/readers   flock'd shared by every process that has it open

A full rebuild writes a new generation beside the served one, checks it (document
count and a canary query) and only then renames a new ``CURRENT`` into place, so a
run killed at any point leaves the old generation served. Incremental runs commit
into the served generation with Whoosh's own atomic TOC switch and without merging
segments, so no file an open reader uses is ever removed. Locks are ``flock``\\ s:
the kernel drops them when a process dies, so a killed run leaves no stale lock,
and a generation is deleted only once no process holds its ``readers`` lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.query import Term

from search.errors import IndexUnavailable, LockHeld, ReindexError
from search.schema import build_schema

CURRENT = "CURRENT"
LOCK = "reindex.lock"
READERS = "readers"
PREFIX = "gen-"
WRITER_MB = 256


@dataclass(frozen=True)
class StoredDoc:
    """What an incremental reindex needs to know of an indexed article."""

    id: str
    path: str
    content_hash: str
    story: str
    minhash: bytes


class Generation:
    """An open generation: the Whoosh index plus a shared lock that keeps it on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self._lock_fd = os.open(path / READERS, os.O_RDONLY | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        try:
            self.index = whoosh_index.open_dir(str(path))
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


class IndexStore:
    """The generations of one index folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

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

    @contextlib.contextmanager
    def writing(self, wait: bool = False) -> Iterator[None]:
        """Hold the one-writer lock for the duration of a reindex.

        Raises:
            LockHeld: another reindex holds it and ``wait`` is false.
            ReindexError: the index folder cannot be created or written.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ReindexError(f"index folder {self.root} is not writable: {exc.strerror}") from exc
        try:
            flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(fd, flags)
            except BlockingIOError as exc:
                raise LockHeld(
                    f"another reindex is running on {self.root}; wait for it or use --wait"
                ) from exc
            yield
        finally:
            os.close(fd)

    def stored_docs(self) -> list[StoredDoc]:
        """Every article of the served generation, as incremental reindex sees it."""
        if self.current_name() is None:
            return []
        generation = self.open_current()
        try:
            with generation.index.reader() as reader:
                return [
                    StoredDoc(
                        fields["id"],
                        fields.get("path", ""),
                        fields.get("content_hash", ""),
                        fields.get("story", fields["id"]),
                        fields.get("minhash", b""),
                    )
                    for fields in reader.all_stored_fields()
                ]
        finally:
            generation.close()

    def build(self, documents: Iterable[dict[str, Any]], procs: int = 1) -> str:
        """Write a new generation, check it, and publish it. Returns its name.

        Raises:
            ReindexError: the new generation failed its checks; the old one stays.
        """
        path = self.root / f"{PREFIX}{time.time_ns()}"
        path.mkdir(parents=True)
        schema = build_schema()
        index = whoosh_index.create_in(str(path), schema)
        options: dict[str, Any] = {"limitmb": WRITER_MB}
        if procs > 1:
            options.update(procs=procs, multisegment=True)
        writer = index.writer(**options)
        expected = 0
        canary: str | None = None
        try:
            for fields in documents:
                writer.add_document(**fields)
                expected += 1
                canary = canary or next(schema["title"].process_text(fields["title"]), None)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        self._check(path, expected, canary)
        self.publish(path.name)
        return path.name

    def apply(self, delete_ids: Iterable[str], documents: Iterable[dict[str, Any]]) -> None:
        """Delete and add articles in the served generation, in one atomic commit."""
        generation = self.open_current()
        try:
            writer = generation.index.writer(limitmb=WRITER_MB)
            try:
                for doc_id in delete_ids:
                    writer.delete_by_term("id", doc_id)
                for fields in documents:
                    writer.update_document(**fields)
            except BaseException:
                writer.cancel()
                raise
            writer.commit(merge=False)
        finally:
            generation.close()

    def publish(self, name: str) -> None:
        """Make ``name`` the served generation with one atomic rename."""
        temporary = self.root / f"{CURRENT}.tmp"
        with open(temporary, "w") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.root / CURRENT)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def cleanup(self) -> list[str]:
        """Remove generations that are not served and that no process has open."""
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
        return sum(p.stat().st_size for p in (self.root / name).iterdir() if p.is_file())

    def _check(self, path: Path, expected: int, canary: str | None) -> None:
        """Refuse to publish a generation that lost documents or cannot answer a query."""
        try:
            index = whoosh_index.open_dir(str(path))
            with index.searcher() as searcher:
                count = searcher.doc_count()
                hit = canary is None or bool(searcher.search(Term("title", canary), limit=1))
        except Exception as exc:
            shutil.rmtree(path, ignore_errors=True)
            raise ReindexError(f"new index generation cannot be opened: {exc}") from exc
        if count != expected or not hit:
            shutil.rmtree(path, ignore_errors=True)
            raise ReindexError(
                f"new index generation failed its check ({count} of {expected} documents, "
                f"canary query {'found' if hit else 'missed'}); the served index is unchanged"
            )

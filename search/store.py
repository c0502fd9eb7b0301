"""Index generations on disk: create, publish, open, lock and clean up.

Layout under the index folder::

    CURRENT            name of the served generation (replaced atomically)
    reindex.lock       held (flock) by the one reindex allowed at a time
    gen-<ns>/          one Whoosh index per generation
    gen-<ns>/readers   flock'd shared by every process that has it open
    gen-<ns>/skipped.json  files skipped whole, by content hash, not read again

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
import json
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
SKIPPED = "skipped.json"
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
            ReindexError: writing failed (the disk, say) or the new generation
                failed its checks; it is removed and the old one stays served.
        """
        path = self.root / f"{PREFIX}{time.time_ns()}"
        try:
            path.mkdir(parents=True)
            expected, canary = self._write_new(path, documents, procs)
        except BaseException as exc:
            shutil.rmtree(path, ignore_errors=True)
            if isinstance(exc, OSError):
                raise ReindexError(
                    f"cannot write the new index: {_reason(exc)}; the served index is unchanged"
                ) from exc
            raise
        self._check(path, expected, canary)
        self.publish(path.name)
        return path.name

    @staticmethod
    def _write_new(
        path: Path, documents: Iterable[dict[str, Any]], procs: int
    ) -> tuple[int, str | None]:
        """Fill a new Whoosh index; the number of documents and a canary word."""
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
        return expected, canary

    def apply(self, delete_ids: Iterable[str], documents: Iterable[dict[str, Any]]) -> None:
        """Delete and add articles in the served generation, in one atomic commit.

        Raises:
            ReindexError: writing failed; what this run wrote is removed, the
                served commit is unchanged and the next run starts clean.
        """
        generation = self.open_current()
        try:
            writer = generation.index.writer(limitmb=WRITER_MB)
            try:
                for doc_id in delete_ids:
                    writer.delete_by_term("id", doc_id)
                for fields in documents:
                    writer.update_document(**fields)
                writer.commit(merge=False)
            except BaseException as exc:
                _abandon(writer, generation)
                if isinstance(exc, OSError):
                    raise ReindexError(
                        f"cannot write the index: {_reason(exc)}; the served index is unchanged"
                    ) from exc
                raise
        finally:
            generation.close()

    def skipped_files(self) -> dict[str, tuple[str, str]]:
        """Files the served generation's runs skipped whole: path -> (content hash, reason)."""
        name = self.current_name()
        try:
            recorded = json.loads((self.root / str(name) / SKIPPED).read_text())
        except (OSError, ValueError):
            return {}
        return {path: (entry[0], entry[1]) for path, entry in recorded.items()}

    def remember_skipped(self, skipped: dict[str, tuple[str, str]]) -> None:
        """Record the files skipped whole, beside the served generation (atomically), so
        a run that finds them unchanged need not read them again."""
        name = self.current_name()
        if name is None:
            return
        target = self.root / name / SKIPPED
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(skipped, sort_keys=True))
        os.replace(temporary, target)

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


def _abandon(writer: Any, generation: Generation) -> None:
    """Undo a failed incremental commit: cancel the writer (if it still can be), let
    go of its lock, and delete segment and TOC files the served commit does not use."""
    with contextlib.suppress(Exception):
        writer.cancel()
    lock = getattr(writer, "writelock", None)
    if lock is not None:
        with contextlib.suppress(Exception):
            lock.release()
    index = whoosh_index.open_dir(str(generation.path))
    whoosh_index.clean_files(
        index.storage, index.indexname, index.latest_generation(), index._segments()
    )


def _reason(exc: OSError) -> str:
    return f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")

"""What every store keeps in a folder of this machine: the one-writer lock, and
small JSON files replaced atomically.

Locks are ``flock``\\ s: the kernel drops them when a process dies, so a killed run
leaves no stale lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from search.children import die_with_parent
from search.errors import LockHeld, ReindexError

LOCK = "reindex.lock"
# Held by the service's writer around its turns with LOCK (``writer_lock``).
BATCH_LOCK = "writer.lock"
# The one-writer locks this process holds, by file descriptor, with the pid that took
# them. A process forked during a reindex (an NER worker, Whoosh's writer processes)
# closes its copies at once, because an flock lasts while any copy is open and a
# child that outlived a killed run would lock out every later run; and it is killed
# when the reindex dies (``search.children``), so none outlives a killed run at all.
_HELD_LOCKS: dict[int, int] = {}


def _after_fork_in_child() -> None:
    parents = set(_HELD_LOCKS.values())
    for fd in _HELD_LOCKS:
        os.close(fd)
    _HELD_LOCKS.clear()
    for parent in parents:
        die_with_parent(parent)


os.register_at_fork(after_in_child=_after_fork_in_child)


@contextlib.contextmanager
def writer_lock(root: Path, wait: bool = False, batch: bool = False) -> Iterator[None]:
    """Hold the one-writer lock of the index folder ``root``.

    ``batch`` is the service's writer taking its turn for one batch of pushes: held
    briefly and often, so a reindex that finds it held waits for the batch instead
    of failing as it does when another reindex holds the lock. A batch holds a
    second lock (``BATCH_LOCK``) from before it asks for the first until after it
    lets it go, so whoever finds the first held can tell a batch has it.

    Raises:
        LockHeld: another reindex holds it and ``wait`` is false.
        ReindexError: the folder cannot be created or written.
    """
    with contextlib.ExitStack() as held:
        if batch:
            _lock(held, root / BATCH_LOCK, wait=True)
        try:
            _lock(held, root / LOCK, wait)
        except BlockingIOError as exc:
            if not _batch_running(root):
                raise LockHeld(
                    f"another reindex is running on {root}; wait for it or use --wait"
                ) from exc
            _lock(held, root / LOCK, wait=True)
        yield


def _lock(held: contextlib.ExitStack, path: Path, wait: bool) -> None:
    """Take the flock of ``path`` until ``held`` closes.

    Raises:
        BlockingIOError: it is held and ``wait`` is false.
        ReindexError: the folder cannot be created or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ReindexError(f"index folder {path.parent} is not writable: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    _HELD_LOCKS[fd] = os.getpid()
    held.callback(_release, fd)


def _release(fd: int) -> None:
    _HELD_LOCKS.pop(fd, None)
    os.close(fd)


def _batch_running(root: Path) -> bool:
    """Whether the writer holds (or is about to take) the lock for a batch."""
    with contextlib.ExitStack() as probe:
        try:
            _lock(probe, root / BATCH_LOCK, wait=False)
        except BlockingIOError:
            return True
    return False


def read_skipped(path: Path | None) -> dict[str, tuple[str, str]]:
    """The files skipped whole recorded at ``path`` (none when it is missing)."""
    if path is None:
        return {}
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {name: (entry[0], entry[1]) for name, entry in recorded.items()}


def write_json(target: Path, value: object) -> None:
    """Replace ``target`` atomically: a reader sees the old file or the new one."""
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, sort_keys=True))
    os.replace(temporary, target)

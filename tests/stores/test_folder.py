"""The one-writer lock: a reindex fails fast on another reindex and waits for a
batch of the service's writer."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from search.errors import LockHeld
from search.stores.folder import writer_lock
from tests.conftest import blocked_on_a_lock, wait_for


def hold(root: Path, batch: bool) -> tuple[threading.Event, threading.Thread]:
    """A thread holding the lock (as a batch or a reindex) until ``release`` is set."""
    taken, release = threading.Event(), threading.Event()

    def holder() -> None:
        with writer_lock(root, batch=batch):
            taken.set()
            release.wait(60)

    thread = threading.Thread(target=holder)
    thread.start()
    assert taken.wait(10)
    return release, thread


def test_a_reindex_waits_for_a_batch_of_the_writer_instead_of_failing(tmp_path: Path) -> None:
    release, holder = hold(tmp_path, batch=True)
    took = threading.Event()

    def reindex() -> None:
        with writer_lock(tmp_path):
            took.set()

    waiting = threading.Thread(target=reindex)
    waiting.start()
    wait_for(lambda: blocked_on_a_lock(os.getpid()), 10, "the reindex to wait for the lock")
    assert not took.is_set()
    release.set()
    holder.join(10)
    waiting.join(10)
    assert took.is_set()


def test_a_reindex_fails_at_once_while_another_reindex_holds_the_lock(tmp_path: Path) -> None:
    release, holder = hold(tmp_path, batch=False)
    try:
        with pytest.raises(LockHeld, match="another reindex is running"), writer_lock(tmp_path):
            pass
    finally:
        release.set()
        holder.join(10)

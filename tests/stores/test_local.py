"""Generations on disk: publishing, the writer lock, and cleanup that spares readers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.errors import IndexUnavailable, LockHeld, ReindexError
from search.model import Article, IndexDoc
from search.stores.local import LocalStore


def docs(*ids: str) -> list[IndexDoc]:
    return [(Article(id=i, title=f"Title {i} budget", body=f"Body of {i}."), b"") for i in ids]


def test_nothing_served_before_the_first_build(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "index")
    assert store.current_name() is None
    with pytest.raises(IndexUnavailable, match="run search-reindex"):
        store.open_current()


def test_build_publishes_a_new_generation(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "index")
    first = store.build(docs("a", "b"), "whoosh")
    assert store.current_name() == first
    second = store.build(docs("c"), "whoosh")
    assert store.current_name() == second != first
    assert store.cleanup() == [first]
    assert [d.id for d in store.stored_docs()] == ["c"]


def test_a_generation_in_use_is_not_removed(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "index")
    first = store.build(docs("a"), "whoosh")
    reader = store.open_current()
    store.build(docs("b"), "whoosh")
    assert store.cleanup() == []
    assert (tmp_path / "index" / first).is_dir()
    reader.close()
    assert store.cleanup() == [first]


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "index")
    with (
        store.writing(),
        pytest.raises(LockHeld, match="another reindex is running"),
        LocalStore(tmp_path / "index").writing(),
    ):
        pass
    with store.writing():
        pass  # released on exit


def test_a_build_that_fails_midway_leaves_the_served_index(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "index")
    served = store.build(docs("a"), "whoosh")

    def documents():  # type: ignore[no-untyped-def]
        yield from docs("b")
        raise ReindexError("source vanished mid-run")

    with pytest.raises(ReindexError, match="vanished"):
        store.build(documents(), "whoosh")
    assert store.current_name() == served
    assert [d.id for d in store.stored_docs()] == ["a"]
    store.cleanup()
    assert [p.name for p in (tmp_path / "index").glob("gen-*")] == [served]


def test_unwritable_index_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ReindexError, match="not writable"), LocalStore(blocker / "index").writing():
        pass


def test_each_generation_records_its_engine(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "index")
    name = store.build(docs("a"), "whoosh")
    assert (tmp_path / "index" / name / "ENGINE").read_text().strip() == "whoosh"
    assert store.current_engine() == "whoosh"
    generation = store.open_current()
    assert generation.engine.name == "whoosh" and generation.reader.doc_count() == 1
    generation.reader.close()
    generation.close()
    with pytest.raises(ReindexError, match="unknown engine 'lucene'"):
        store.build(docs("b"), "lucene")
    assert store.current_name() == name


def test_a_process_forked_during_a_reindex_does_not_hold_its_lock(tmp_path: Path) -> None:
    """Whoosh's writer processes and NER workers are forked while the lock is held; one
    that outlives a killed run must not keep later runs out."""
    store = LocalStore(tmp_path / "index")
    with store.writing():
        child = os.fork()
        if child == 0:  # the child lives on after the parent's run, as an orphan would
            signal.pause()
            os._exit(0)
    try:
        deadline = time.monotonic() + 10  # the child closes its copy just after the fork
        while True:
            try:
                with store.writing():
                    break
            except LockHeld:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


FORKS_DURING_A_REINDEX = """
import os, signal, sys
from pathlib import Path
from search.stores.local import LocalStore
with LocalStore(Path(sys.argv[1])).writing():
    child = os.fork()
    if child == 0:  # a helper, busy for as long as nobody stops it
        signal.pause()
        os._exit(0)
    print(child, flush=True)
    signal.pause()
"""


def test_a_process_forked_during_a_reindex_dies_with_it(tmp_path: Path) -> None:
    """Killed outright, a reindex takes its helpers with it: none lingers blocked."""
    with subprocess.Popen(
        [sys.executable, "-c", FORKS_DURING_A_REINDEX, str(tmp_path / "index")],
        stdout=subprocess.PIPE,
        text=True,
    ) as run:
        assert run.stdout is not None
        child = int(run.stdout.readline())
        run.kill()
    try:
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, "the forked helper outlived the killed reindex"
            time.sleep(0.01)
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"

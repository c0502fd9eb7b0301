"""The service's own durable records beside the index: keys, pushed articles, synonyms,
alerts and their matches.

SQLite in WAL mode with ``synchronous=FULL``: a transaction is on disk (its WAL
frames fsynced) when ``commit`` returns, so what the API acknowledged survives a
kill of every process and a power cut; many worker processes may write at once
(each waits its turn, up to ``BUSY_TIMEOUT_S``) while readers never wait. Chosen
over an append-only file of our own because it gives exactly that, with crash
recovery and concurrent writers, from the standard library. The file lives in the
index folder (``service.sqlite``), outside the generations, so a rebuild or an
engine switch keeps it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from search.errors import StorageFull

FILE = "service.sqlite"
BUSY_TIMEOUT_S = 10.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT,
    revoked TEXT
);
CREATE TABLE IF NOT EXISTS pushes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    record TEXT,
    content_hash TEXT,
    pushed TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pushes_by_id ON pushes (id, seq);
CREATE TABLE IF NOT EXISTS synonyms (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applied (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    secret TEXT NOT NULL,
    key TEXT,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_key ON alerts (key);
CREATE TABLE IF NOT EXISTS alerts_changed (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_matches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    title TEXT,
    date TEXT,
    matched_at TEXT NOT NULL,
    UNIQUE (alert, doc_id)
);
CREATE TABLE IF NOT EXISTS alerts_matched (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts_due (
    doc_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
"""


def connect(folder: Path) -> sqlite3.Connection:
    """A connection to the index folder's records, created on first use.

    Raises:
        OSError: the folder cannot be created.
        sqlite3.Error: the file cannot be opened or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        folder / FILE, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.executescript(SCHEMA)
    return connection


class Records:
    """One process's connection to an index folder's records: opened on first use
    (in a gunicorn worker, after the fork) and used by one thread at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def using(self) -> Iterator[sqlite3.Connection]:
        """The connection, this thread's alone until the block ends."""
        with self._lock:
            if self._connection is None:
                self._connection = connect(self.folder)
            yield self._connection

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: on disk when the block ends, or rolled
        back if it raised."""
        with self.using() as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if "full" in str(exc):
                    raise StorageFull(
                        "the disk is full: nothing of this request was written; what was "
                        "acknowledged before is kept"
                    ) from exc
                raise

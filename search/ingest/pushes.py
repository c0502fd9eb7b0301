"""Articles that apps push: read and checked item by item, written to the durable
log (``search.durable``) before the answer, applied to the index by the one writer
(``search.writer``) in the order they came.

A pushed item is a JSON object as a record file would hold it (``id`` required;
``title``, ``date``, ``people``, ``body`` or ``text`` or ``html``, ``url``,
``source``) and goes through the same extraction, so a bad one gets its reason at
once and never reaches the log. The log keeps every push and delete with a
sequence number; the writer records the last one it applied, so a writer killed
anywhere applies the rest when it starts again, and an article acknowledged is
never lost. Pushed articles carry the path ``push:<id>``: a reindex of folders
keeps them and a full rebuild reads them from here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search import durable
from search.errors import ArticleError, InvalidBody
from search.ingest.extract import extract
from search.ingest.sources import RawArticle, record_of

PUSHED = "push:"
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Push:
    """One entry of the log: an article's new record, or its deletion (``record`` None)."""

    seq: int
    id: str
    record: dict[str, Any] | None
    content_hash: str | None


@dataclass(frozen=True)
class Checked:
    """A pushed item that passed extraction, ready for the log."""

    id: str
    record: dict[str, Any]
    content_hash: str


def items_of(body: bytes, content_type: str | None) -> list[tuple[int, Any]]:
    """The items of a push body, numbered from 1: one JSON object, an array of them,
    or NDJSON (one a line; a line that is not JSON stays as its text, to be reported).

    Raises:
        InvalidBody: the body is neither JSON nor NDJSON.
    """
    text = body.decode("utf-8", errors="replace")
    if content_type is not None and content_type.split(";")[0].strip() == NDJSON:
        return _ndjson(text)
    try:
        loaded = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        lines = _ndjson(text)
        if len(lines) > 1 and any(isinstance(item, dict) for _, item in lines):
            return lines
        raise InvalidBody("the body must be a JSON object, an array of them, or NDJSON") from None
    if isinstance(loaded, dict):
        return [(1, loaded)]
    if isinstance(loaded, list):
        return list(enumerate(loaded, 1))
    raise InvalidBody("the body must be a JSON object, an array of them, or NDJSON")


def _ndjson(text: str) -> list[tuple[int, Any]]:
    """Each line that is not blank, by its number, decoded (or kept as its text)."""
    return [(number, _line(line)) for number, line in enumerate(text.splitlines(), 1)
            if line.strip()]  # fmt: skip


def _line(line: str) -> Any:
    try:
        return json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return _NotJson(line)


class _NotJson(str):
    """A line of NDJSON that did not parse."""


def check(item: Any) -> Checked:
    """An item ready for the log.

    Raises:
        ArticleError: not an object, no id, no text, or nothing left after extraction.
    """
    if isinstance(item, _NotJson):
        raise ArticleError("the line is not JSON")
    if not isinstance(item, dict):
        raise ArticleError("not a JSON object")
    given = item.get("id")
    if not isinstance(given, str | int) or isinstance(given, bool) or not str(given).strip():
        raise ArticleError("an article needs an id (a string)")
    record = {**item, "id": str(given).strip()}
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    extract(raw_of(record["id"], record, digest))  # raises ArticleError when unusable
    return Checked(record["id"], record, digest)


def raw_of(doc_id: str, record: dict[str, Any], content_hash: str) -> RawArticle:
    """A pushed record as the indexer reads a record of a file.

    Raises:
        ArticleError: the record has no body text.
    """
    return record_of(record, doc_id, PUSHED + doc_id, content_hash)


class PushLog:
    """The push log of one index folder."""

    def __init__(self, folder: Path) -> None:
        self.records = durable.Records(folder)

    def write(self, items: list[Checked]) -> tuple[int, list[str]]:
        """Log ``items`` in one durable transaction (on disk when this returns).

        Returns the last sequence number (0 when nothing was new) and, per item,
        ``new`` (first pushed), ``changed`` or ``unchanged`` (the same record as its
        last push, not logged again).
        """
        statuses: list[str] = []
        last = 0
        with self.records.transaction() as db:
            for item in items:
                before = _latest(db, item.id)
                if before is not None and before[1] == item.content_hash:
                    statuses.append("unchanged")
                    continue
                cursor = db.execute(
                    "INSERT INTO pushes (id, record, content_hash, pushed) VALUES (?, ?, ?, ?)",
                    (item.id, json.dumps(item.record), item.content_hash, _now()),
                )
                last = int(cursor.lastrowid or 0)
                statuses.append("new" if before is None or before[1] is None else "changed")
        return last, statuses

    def delete(self, doc_id: str) -> int:
        """Log the deletion of ``doc_id`` durably; returns its sequence number."""
        with self.records.transaction() as db:
            cursor = db.execute(
                "INSERT INTO pushes (id, record, content_hash, pushed) VALUES (?, NULL, NULL, ?)",
                (doc_id, _now()),
            )
            return int(cursor.lastrowid or 0)

    def pushed(self, doc_id: str) -> bool:
        """Whether ``doc_id``'s last entry is a live push (not a deletion)."""
        with self.records.using() as db:
            latest = _latest(db, doc_id)
        return latest is not None and latest[1] is not None

    def pending(self, limit: int) -> list[Push]:
        """The entries after the last one applied, oldest first."""
        with self.records.using() as db:
            rows = db.execute(
                "SELECT seq, id, record, content_hash FROM pushes WHERE seq > ? ORDER BY seq"
                " LIMIT ?",
                (_applied(db), limit),
            ).fetchall()
        return [Push(seq, i, None if r is None else json.loads(r), h) for seq, i, r, h in rows]

    def live(self) -> tuple[int, list[Push]]:
        """Every pushed article's last record (deleted ones left out), and the last
        sequence number they include."""
        with self.records.using() as db:
            newest = db.execute("SELECT coalesce(max(seq), 0) FROM pushes").fetchone()[0]
            rows = db.execute(
                "SELECT p.seq, p.id, p.record, p.content_hash FROM pushes p"
                " JOIN (SELECT id, max(seq) AS seq FROM pushes GROUP BY id) last"
                " ON p.seq = last.seq WHERE p.record IS NOT NULL ORDER BY p.seq"
            ).fetchall()
        return newest, [Push(seq, i, json.loads(r), h) for seq, i, r, h in rows]

    def written_since(self, since: int) -> tuple[int, list[str]]:
        """The last entry applied, and the ids the entries applied after ``since``
        wrote (deletions left out), in the order they were first written."""
        with self.records.using() as db:
            applied = _applied(db)
            rows = db.execute(
                "SELECT id FROM pushes WHERE seq > ? AND seq <= ? AND record IS NOT NULL"
                " ORDER BY seq",
                (since, applied),
            ).fetchall()
        return applied, list(dict.fromkeys(row[0] for row in rows))

    def applied(self) -> int:
        """The last entry in the index."""
        with self.records.using() as db:
            return _applied(db)

    def mark_applied(self, seq: int) -> None:
        """Record durably that every entry up to ``seq`` is in the index."""
        with self.records.transaction() as db:
            db.execute(
                "INSERT INTO applied (one, seq) VALUES (1, ?)"
                " ON CONFLICT (one) DO UPDATE SET seq = max(seq, excluded.seq)",
                (seq,),
            )

    def counts(self) -> dict[str, Any]:
        """What ``/stats`` shows: entries logged, applied, pending, and the oldest
        pending one's age in seconds."""
        with self.records.using() as db:
            applied = _applied(db)
            logged = db.execute("SELECT coalesce(max(seq), 0) FROM pushes").fetchone()[0]
            oldest = db.execute(
                "SELECT pushed FROM pushes WHERE seq > ? ORDER BY seq LIMIT 1", (applied,)
            ).fetchone()
        age = None
        if oldest is not None:
            age = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(oldest[0])).total_seconds()
        return {"pushed": logged, "applied": applied, "pending": logged - applied,
                "oldest_pending_s": age}  # fmt: skip


def _applied(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT seq FROM applied WHERE one = 1").fetchone()
    return int(row[0]) if row else 0


def _latest(db: sqlite3.Connection, doc_id: str) -> tuple[int, str | None] | None:
    row = db.execute(
        "SELECT seq, content_hash FROM pushes WHERE id = ? ORDER BY seq DESC LIMIT 1", (doc_id,)
    ).fetchone()
    return None if row is None else (int(row[0]), row[1])


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")

"""Alerts: saved searches matched against every article pushed or reindexed after
they were made, each match recorded once, durably, in the order articles became
searchable.

Alerts and their matches live in the durable records beside the pushed articles
(``search.durable``). The writer, once a batch of pushes is applied and its people
found, verifies each alert the batch could match (``search.preselect``; the alerts
are kept by their covers between batches) against the batch's articles alone
(``Reader.matching``, ``match_new``); ``search-reindex`` does the same for what it
added or changed (``match_changed``). The same parser and engine as ``/search``,
so an alert's matches are exactly what ``/search`` finds among them. A batch's
matches and the last push matched are written in one transaction, so a writer
killed anywhere matches what it had not recorded when it starts again, and records
nothing twice; a reindex notes what it is about to write (``Alerts.due``), so one
killed after writing loses no match either.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from search import durable, phases, preselect
from search.deadline import Deadline
from search.errors import InvalidBody, InvalidParameter, NotFound
from search.ingest.pushes import PushLog
from search.model import Article, EngineQuery, SearchRequest
from search.query import language as ql
from search.query.params import parse_request
from search.query.synonyms import Synonyms, SynonymStore
from search.service import engine_query
from search.stores.base import Store

# Alerts one key may hold; what one alert may match in one batch is the batch.
MAX_ALERTS_PER_KEY = 1000
MAX_NAME_CHARS = 200
MATCHES_LIMIT, MAX_MATCHES_LIMIT = 100, 1000
# The alert's fields that are ``/search`` parameters, as it stores them.
QUERY_FIELDS = ("q", "people", "from", "to", "match")
# For the alerts of one batch (a search each, or a match on the batch alone).
MATCH_TIME_LIMIT_S = 60.0

# Over the served index: the ids among some that each query finds; the articles of
# some ids; the alerts some articles could match, each with its query.
Search = Callable[[list[EngineQuery], list[str]], list[set[str]]]
Read = Callable[[list[str]], list[Article]]
Preselect = Callable[[list[Article]], list[tuple["Alert", EngineQuery]]]
Over = tuple[Search, Read, Preselect]
Covers = preselect.Covers[tuple["Alert", EngineQuery]]


@dataclass(frozen=True)
class Alert:
    """A saved search; ``secret`` signs its webhook calls (shown once, at creation)."""

    id: str
    name: str
    query: dict[str, Any]
    webhook: str | None
    secret: str
    key: str | None
    created: str

    def request(self) -> SearchRequest:
        return parse_request({k: v for k, v in self.query.items() if v is not None})

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, **self.query, "webhook": self.webhook,
                "created": self.created}  # fmt: skip


class Alerts:
    """The alerts of one index folder and their matches."""

    def __init__(self, folder: Path) -> None:
        self.records = durable.Records(folder)
        # The covers, what they were made for (synonyms, engine) and the alerts' version.
        self._covers: tuple[tuple[int, type], Covers, int] | None = None

    def create(self, body: Any, key: str | None, applied: int) -> Alert:
        """A new alert from ``POST /alerts``'s body; ``applied`` is the last push
        applied now (the first alert starts matching after it).

        Raises:
            InvalidBody: not an object, or a field of the wrong kind.
            InvalidParameter: a bad filter, or the key holds too many alerts.
            InvalidQuery: ``q`` cannot be understood.
        """
        query, name, webhook = _checked(body)
        alert = Alert(
            id=secrets.token_hex(8),
            name=name,
            query=query,
            webhook=webhook,
            secret=secrets.token_urlsafe(24),
            key=key,
            created=_now(),
        )
        with self.records.transaction() as db:
            held = db.execute("SELECT count(*) FROM alerts WHERE key IS ?", (key,)).fetchone()[0]
            if held >= MAX_ALERTS_PER_KEY:
                raise InvalidParameter("alerts", f"a key holds {MAX_ALERTS_PER_KEY} at most")
            body_text = json.dumps({"name": name, "query": query, "webhook": webhook})
            db.execute(
                "INSERT INTO alerts (id, body, secret, key, created) VALUES (?, ?, ?, ?, ?)",
                (alert.id, body_text, alert.secret, key, alert.created),
            )
            db.execute("INSERT OR IGNORE INTO alerts_matched (one, seq) VALUES (1, ?)", (applied,))
            _changed(db)
        return alert

    def behind(self, applied: int) -> bool:
        """Whether pushes up to ``applied`` have articles no alert was matched with."""
        with self.records.using() as db:
            row = db.execute("SELECT seq FROM alerts_matched").fetchone()
        return self.any() and row is not None and row[0] < applied

    def any(self) -> bool:
        with self.records.using() as db:
            return db.execute("SELECT 1 FROM alerts LIMIT 1").fetchone() is not None

    def all(self, with_webhook: bool = False) -> list[Alert]:
        """Every alert, or those with a webhook (read every time the webhooks look)."""
        where = "WHERE json_extract(body, '$.webhook') IS NOT NULL" if with_webhook else ""
        with self.records.using() as db:
            rows = db.execute(f"SELECT * FROM alerts {where} ORDER BY created, id").fetchall()
        return [_alert(row) for row in rows]

    def get(self, alert_id: str) -> Alert:
        """Raises: NotFound: no such alert."""
        with self.records.using() as db:
            row = db.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise NotFound(f"no alert {alert_id!r}")
        return _alert(row)

    def delete(self, alert_id: str) -> Alert:
        """Raises: NotFound: no such alert."""
        alert = self.get(alert_id)
        with self.records.transaction() as db:
            db.execute("DELETE FROM alert_matches WHERE alert = ?", (alert_id,))
            db.execute("DELETE FROM alert_deliveries WHERE alert = ?", (alert_id,))
            db.execute("DELETE FROM alerts WHERE id = ?", (alert_id,))
            _changed(db)
        return alert

    def covers(self, synonyms: tuple[int, Synonyms], analyzed: preselect.Analyzed,
               engine: type) -> Covers:  # fmt: skip
        """Every alert with its query, by their covers: kept between batches, made
        again when the synonyms or the engine (its analysis) changed, and brought up
        to date, alert by alert, when alerts were made or deleted."""
        with self.records.using() as db:
            row = db.execute("SELECT version FROM alerts_changed").fetchone()
        version, made_for = (row[0] if row else 0), (synonyms[0], engine)
        if self._covers is None or self._covers[0] != made_for:
            self._covers = (made_for, preselect.Covers(analyzed), -1)
        _, covers, seen = self._covers
        if seen != version:
            with self.records.using() as db:
                ids = {alert_id for (alert_id,) in db.execute("SELECT id FROM alerts")}
            for gone in covers.keys() - ids:
                covers.remove(gone)
            for alert in self._read(ids - covers.keys()):
                query = _query(alert, synonyms[1])
                covers.add(alert.id, (alert, query), query.tree)
            self._covers = (made_for, covers, version)
        return covers

    def _read(self, ids: set[str]) -> list[Alert]:
        """The alerts of ``ids``, oldest first."""
        with self.records.using() as db:
            rows = db.execute(
                "SELECT * FROM alerts WHERE id IN (SELECT value FROM json_each(?))"
                " ORDER BY created, id",
                (json.dumps(sorted(ids)),),
            ).fetchall()
        return [_alert(row) for row in rows]

    def due(self, changes: list[tuple[str, str]]) -> None:
        """Note the articles a reindex is about to write, each with its content hash:
        once written they are matched, by that reindex or, if it was killed before
        it could, by the writer or the next reindex (``match_changed``)."""
        if changes and self.any():
            with self.records.transaction() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO alerts_due (doc_id, content_hash) VALUES (?, ?)",
                    changes,
                )

    def noted(self) -> dict[str, str]:
        with self.records.using() as db:
            return dict(db.execute("SELECT doc_id, content_hash FROM alerts_due").fetchall())

    def forget(self, ids: set[str]) -> None:
        with self.records.transaction() as db:
            db.executemany("DELETE FROM alerts_due WHERE doc_id = ?", ((i,) for i in ids))

    def matches(self, alert_id: str, after: str | None, limit: int) -> dict[str, Any]:
        """``GET /alerts/{id}/matches``: the alert's matches after the cursor
        ``after``, oldest first, and the cursor to ask with next.

        Raises:
            NotFound: no such alert.
            InvalidParameter: ``after`` is not a cursor this gave.
        """
        self.get(alert_id)
        if after is not None and not after.isdigit():
            raise InvalidParameter("after", "not a next cursor of these matches")
        since = int(after or 0)
        with self.records.using() as db:
            rows = db.execute(
                "SELECT seq, doc_id, title, date, matched_at FROM alert_matches"
                " WHERE alert = ? AND seq > ? ORDER BY seq LIMIT ?",
                (alert_id, since, limit),
            ).fetchall()
        found = [{"id": i, "title": t, "date": d, "matched_at": m} for _, i, t, d, m in rows]
        return {"matches": found, "next": str(rows[-1][0] if rows else since)}

    def undelivered(self, alert_id: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The matches of an alert its webhook has not acknowledged (oldest first,
        ``limit`` at most), and the cursor after them."""
        with self.records.using() as db:
            row = db.execute("SELECT seq FROM alert_deliveries WHERE alert = ?", (alert_id,))
            done = (row.fetchone() or (0,))[0]
        page = self.matches(alert_id, str(done), limit)
        return page["matches"], int(page["next"])

    def delivered(self, alert_id: str, seq: int) -> None:
        """Its webhook acknowledged the matches up to ``seq``."""
        with self.records.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO alert_deliveries (alert, seq) VALUES (?, ?)",
                (alert_id, seq),
            )

    def match_pending(self, pushed: Callable[[int], tuple[int, list[str]]], over: Over) -> int:
        """Match the articles of the pushes applied since the last match against
        the alerts; returns how many matches were recorded. ``pushed(since)`` gives
        the last push applied and the ids written since ``since`` (in order).
        """
        with self.records.using() as db:
            row = db.execute("SELECT seq FROM alerts_matched").fetchone()
        since = row[0] if row else 0
        last, ids = pushed(since)
        return self.record(ids, over, last) if last > since else 0

    def record(self, ids: list[str], over: Over, last: int | None = None) -> int:
        """Match ``ids`` (in the order they became searchable) against the alerts
        they could match (``search.preselect``) and record the matches not recorded
        yet; with ``last``, the last push matched, in the same transaction. Returns
        how many were recorded."""
        search, read, preselect = over
        batch = read(ids) if ids else []
        chosen = preselect(batch)
        queries = list(dict.fromkeys(query for _, query in chosen))  # alerts of one query: once
        searched = dict(zip(queries, search(queries, ids), strict=True))
        found = [(alert, searched[query]) for alert, query in chosen]
        shown = {article.id: (article.title, article.date) for article in batch}
        now = _now()
        rows = [
            (alert.id, doc_id, *shown.get(doc_id, ("", None)), now)
            for doc_id in ids
            for alert, hits in found
            if doc_id in hits
        ]
        phases.reached("matching")
        with self.records.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO alert_matches (alert, doc_id, title, date, matched_at)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            recorded = db.total_changes - before
            db.executemany("DELETE FROM alerts_due WHERE doc_id = ?", ((i,) for i in ids))
            if last is not None:
                db.execute(
                    "INSERT OR REPLACE INTO alerts_matched (one, seq) VALUES (1, ?)", (last,)
                )
        return int(recorded)


def match_new(alerts: Alerts, store: Store, pushes: PushLog, synonyms: SynonymStore) -> int:
    """Match the articles of pushes applied since the last match against every
    alert, over the served index; returns how many matches were recorded."""
    if not alerts.behind(pushes.applied()):
        return 0
    with _over(alerts, store, synonyms.current()) as over:
        return alerts.match_pending(pushes.written_since, over)


def match_changed(
    alerts: Alerts, store: Store, ids: list[str], synonyms: SynonymStore, done: bool = True
) -> int:
    """Match against every alert the articles a reindex added or changed, and those
    a killed reindex wrote and did not match (noted ``due``, and served with the
    content noted). ``done``: no reindex is under way (this one finished), so a
    noted article not served as noted was never written, and is forgotten."""
    noted = alerts.noted()
    if not (ids or noted) or not alerts.any():
        return 0
    with _over(alerts, store, synonyms.current()) as over:
        _, read, _ = over
        left = sorted(set(noted) - set(ids))  # a killed reindex's (``ids`` are matched anyway)
        written = [a.id for a in read(left) if a.content_hash == noted[a.id]]
        if done and (stale := set(left) - set(written)):
            alerts.forget(stale)
        return alerts.record([*ids, *written], over)


@contextlib.contextmanager
def _over(alerts: Alerts, store: Store, synonyms: tuple[int, Synonyms]) -> Iterator[Over]:
    """Over the served index: which of some articles each query finds (``Reader.matching``),
    the articles of some ids, and the alerts some articles could match, each with
    its query."""
    served = store.open_current()
    reader = served.reader

    def found(queries: list[EngineQuery], ids: list[str]) -> list[set[str]]:
        return reader.matching(queries, ids, Deadline.after(MATCH_TIME_LIMIT_S))

    def read(ids: list[str]) -> list[Article]:
        return [a for a in (reader.document(doc_id) for doc_id in ids) if a is not None]

    def could_match(batch: list[Article]) -> list[tuple[Alert, EngineQuery]]:
        covers = alerts.covers(synonyms, reader.analyzed, type(reader))
        return covers.could_match(preselect.forms(batch, reader.analyzed))

    try:
        yield found, read, could_match
    finally:
        reader.close()
        served.close()


def _query(alert: Alert, synonyms: Synonyms) -> EngineQuery:
    """What the engine matches for an alert: its ``/search`` query, without what
    only orders or counts the hits."""
    return replace(engine_query(alert.request(), synonyms), facets=(), collapse=False,
                   feedback=False, recency=None)  # fmt: skip


def _checked(body: Any) -> tuple[dict[str, Any], str, str | None]:
    """The query fields, name and webhook of a new alert, checked as ``/search`` would.

    Raises:
        InvalidBody: not an object, or a field of the wrong kind.
        InvalidParameter: a bad filter.
        InvalidQuery: ``q`` cannot be understood.
    """
    if not isinstance(body, dict):
        raise InvalidBody('the body must be a JSON object: {"q": ..., "name": ...}')
    unknown = sorted(set(body) - {*QUERY_FIELDS, "name", "webhook"})
    if unknown:
        raise InvalidParameter(unknown[0], "unknown field of an alert")
    name, webhook = body.get("name") or "", body.get("webhook")
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise InvalidParameter("name", f"a string of {MAX_NAME_CHARS} characters at most")
    if webhook is not None and not (
        isinstance(webhook, str) and webhook.startswith(("http://", "https://"))
    ):
        raise InvalidParameter("webhook", "an http:// or https:// URL")
    people = body.get("people") or []
    if not isinstance(people, list) or not all(isinstance(p, str) for p in people):
        raise InvalidParameter("people", "a list of names")
    query = {"q": body.get("q") or "", "people": people, "from": body.get("from"),
             "to": body.get("to"), "match": body.get("match")}  # fmt: skip
    for field in ("q", "from", "to", "match"):
        if query[field] is not None and not isinstance(query[field], str):
            raise InvalidParameter(field, "a string")
    request = parse_request({k: v for k, v in query.items() if v is not None})
    ql.parse(request.q)  # a query that cannot parse is refused now, not at every match
    kept = {"q": request.q, "people": list(request.people), "from": request.date_from,
            "to": request.date_to, "match": query["match"] or None}  # fmt: skip
    return kept, name, webhook


def _changed(db: Any) -> None:
    """Count a change of the alerts (what ``Alerts.covers`` keeps is then stale)."""
    db.execute("INSERT INTO alerts_changed (one, version) VALUES (1, 1)"
               " ON CONFLICT (one) DO UPDATE SET version = version + 1")  # fmt: skip


def _alert(row: Any) -> Alert:
    alert_id, body, secret, key, created = row
    stored = json.loads(body)
    return Alert(alert_id, stored["name"], stored["query"], stored["webhook"], secret, key, created)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")

"""Alerts at scale (``scripts/bench --alerts``): what matching costs an article
against more and more stored alerts, and whether matching keeps up with a push.

The index is ``scale`` copies of the BBC set as JSONL records with their people
(``bench_corpus``: a 16x index builds without NER). Alerts are
made of the set's own words and people, in the shapes a monitoring client saves:
a word, two words, a title's phrase, OR, NOT, a field, a person, a wildcard beside
a word, a date filter. Then:

- **cost**: in-process, 1,000, 10,000 and 100,000 alerts (records on a RAM disk, so
  making them is quick), each matched against the same batches of the index's
  articles (``search.alerts.match_changed``, as a reindex matches): the time an
  article costs, the alerts pre-selected for it and its matches;
- **live**: a real ``search-serve`` with 10,000 alerts made over HTTP, one client
  pushing articles at a steady rate: from an article's being searchable to its
  matches being recorded (``matched_at``), and whether matching fell behind.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import statistics
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench_corpus import START, text_of
from bench_push import _word, delays_ms, sustained_push

from search import preselect
from search.alerts import Alerts, match_changed
from search.analysis import INDEX_STOP_WORDS, TOKEN
from search.config import Settings
from search.durable import FILE
from search.engines.whoosh.schema import analyzed as whoosh_form
from search.engines.xapian.analysis import analyzed as xapian_form
from search.keys import Keys
from search.query.synonyms import SynonymStore
from search.stores.from_settings import open_store

BATCH = 10  # articles matched at once in the cost curve, as a push batch
BATCHES = 20
RAM_DISK = Path("/dev/shm")


def alert_bodies(base: list[dict[str, Any]], count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` alerts of the set's words and people, as specific as a monitoring
    client's: each word and person is in 30 of the 2,225 articles at most."""
    spread = Counter(w for r in base for w in {w.lower() for w in TOKEN.findall(text_of(r))})
    words = sorted(w for w, n in spread.items() if n <= 30 and _plain(w))
    named = Counter(name for record in base for name in set(record["people"]))
    people = sorted(name for name, n in named.items() if n <= 30)
    rng = random.Random(seed)
    bodies = []
    for n in range(count):
        one, two, name = rng.choice(words), rng.choice(words), rng.choice(people)
        title = TOKEN.findall(rng.choice(base)["title"])
        at = rng.randrange(len(title) - 1) if len(title) > 1 else 0
        shapes: list[dict[str, Any]] = [
            {"q": one}, {"q": f"{one} {two}"}, {"q": '"' + " ".join(title[at : at + 3]) + '"'},
            {"q": f"{one} OR {two}"}, {"q": f"{one} -{two}"}, {"q": f"title:{one}"},
            {"q": one, "people": [name]}, {"q": f'people:"{name}"'},
            {"q": f"{two[:4]}* {one}"}, {"q": one, "from": str(START + dt.timedelta(days=365))},
        ]  # fmt: skip
        bodies.append({"name": f"alert {n}", **shapes[n % len(shapes)]})
    return bodies


def elsewhere(base: list[dict[str, Any]], count: int, data: Path,
              seed: int = 11) -> list[dict[str, Any]]:  # fmt: skip
    """``count`` alerts on things the stream never mentions: words of the CACM and
    Cranfield collections (computing, aeronautics) that no BBC article holds."""
    held = {w.lower() for r in base for w in TOKEN.findall(text_of(r))}
    texts = (data / "cacm" / "cacm.all", data / "cranfield" / "cran.all.1400")
    found = {w.lower() for path in texts for w in TOKEN.findall(path.read_text(errors="replace"))}
    # Not the words only: not their index forms either, on any engine ("computings").
    engines = (xapian_form, whoosh_form)
    forms = [{form(w) for w in held} for form in engines]
    words = sorted(
        w for w in found - held
        if _plain(w) and not any(form(w) in f for form, f in zip(engines, forms, strict=True))
    )  # fmt: skip
    rng = random.Random(seed)
    shapes = ("{one}", "{one} {two}", '"{one} {two}"', "{one} OR {two}", "title:{one}")
    return [{"name": f"elsewhere {n}", "q": shapes[n % len(shapes)].format(
             one=rng.choice(words), two=rng.choice(words))} for n in range(count)]  # fmt: skip


def _plain(word: str) -> bool:
    return word.isalpha() and len(word) > 3 and word not in INDEX_STOP_WORDS


def cost_curve(settings: Settings, mixes: dict[str, list[list[dict[str, Any]]]],
               ids: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    """For each set of alerts of each mix, what matching the same batches of ``ids`` costs."""
    store = open_store(settings)
    batches = [ids[n * BATCH : (n + 1) * BATCH] for n in range(BATCHES)]
    rows = []
    for mix, sets in mixes.items():
        for bodies in sets:
            with tempfile.TemporaryDirectory(dir=RAM_DISK if RAM_DISK.is_dir() else None) as folder:
                alerts = Alerts(Path(folder))
                for n, body in enumerate(bodies):
                    alerts.create(body, f"key{n // 1000}", 0)
                synonyms = SynonymStore(Path(folder))
                figures = _matched(alerts, store, synonyms, batches)
                rows.append({"mix": mix, "alerts": len(bodies), **figures})
    return rows


def _matched(alerts: Alerts, store: Any, synonyms: SynonymStore,
             batches: list[list[str]]) -> dict[str, float]:  # fmt: skip
    """Times and counts of matching each batch, the first (which makes the covers) apart."""
    seconds, recorded = [], 0
    for batch in batches:
        started = time.perf_counter()
        recorded += match_changed(alerts, store, batch, synonyms)
        seconds.append(time.perf_counter() - started)
    served = store.open_current()
    try:
        covers = alerts.covers(synonyms.current(), served.reader.analyzed, type(served.reader))
        articles = [a for i in sum(batches, []) if (a := served.reader.document(i)) is not None]
        chosen = [len(covers.could_match(preselect.forms([a], served.reader.analyzed)))
                  for a in articles]  # fmt: skip
    finally:
        served.reader.close()
        served.close()
    articles_matched = sum(map(len, batches))
    return {
        "first_batch_s": seconds[0],
        "ms_per_article": statistics.median(seconds[1:]) / BATCH * 1000,
        "preselected_per_article": statistics.mean(chosen),
        "matches_per_article": recorded / articles_matched,
    }


def make_alerts(url: str, index_dir: Path, bodies: list[dict[str, Any]]) -> float:
    """Make ``bodies`` over HTTP (a write key per 1,000); the seconds it took."""
    started = time.perf_counter()
    keys = [Keys(index_dir).create("write", name=f"bench {n}")[1]
            for n in range(len(bodies) // 1000 + 1)]  # fmt: skip
    for n, body in enumerate(bodies):
        request = urllib.request.Request(
            f"{url}/alerts", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {keys[n // 1000]}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201, answer.status
    return time.perf_counter() - started


def live(url: str, index_dir: Path, base: list[dict[str, Any]], rate: float,
         seconds: float) -> dict[str, Any]:  # fmt: skip
    """Push BBC articles under new ids; from searchable to matches recorded."""

    def article(number: int) -> dict[str, Any]:
        record = base[number % len(base)]
        return {**record, "id": f"bench-alert/{number}", "date": "2026-12-07",
                "body": f"{record['body']}\n\n{_word(number)}"}  # fmt: skip

    pushed = sustained_push(url, index_dir, [], rate, seconds, article, clients=0)
    caught_up = _caught_up(index_dir, deadline_s=120)
    with sqlite3.connect(index_dir / FILE) as db:
        rows = db.execute(
            "SELECT doc_id, min(matched_at), count(*) FROM alert_matches"
            " WHERE doc_id LIKE 'bench-alert/%' GROUP BY doc_id"
        ).fetchall()
    matched = {doc: dt.datetime.fromisoformat(at).timestamp() for doc, at, _ in rows}
    acknowledged, searchable = pushed.pop("acknowledged_at"), pushed.pop("searchable_at")
    return {**pushed, "caught_up_s": caught_up, "articles_matched": len(rows),
            "matches": sum(n for _, _, n in rows),
            "to_matched_ms": delays_ms(acknowledged, matched),
            "searchable_to_matched_ms": delays_ms(searchable, matched)}  # fmt: skip


def _caught_up(index_dir: Path, deadline_s: float) -> float | None:
    """Seconds until every applied push was matched (None: not within the deadline)."""
    started = time.monotonic()
    with sqlite3.connect(index_dir / FILE) as db:
        while time.monotonic() - started < deadline_s:
            matched = db.execute("SELECT seq FROM alerts_matched").fetchone()
            applied = db.execute("SELECT seq FROM applied").fetchone()
            pending = db.execute("SELECT count(*) FROM pushes WHERE seq > ?",
                                 (applied[0] if applied else 0,)).fetchone()[0]  # fmt: skip
            if matched and applied and matched[0] >= applied[0] and pending == 0:
                return time.monotonic() - started
            time.sleep(0.1)
    return None


def render(engine: str, curve: list[dict[str, Any]], made_s: float, alerts: int,
           figures: dict[str, Any]) -> str:  # fmt: skip
    """The cost table and the live line, as Markdown."""
    lines = [f"#### {engine}", "",
             "| alerts | of them | ms an article | / the mix's fewest | pre-selected an article "
             "| matches an article | ms a match | first batch s (makes the covers) |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    fewest: dict[str, float] = {}
    for row in curve:
        base = fewest.setdefault(row["mix"], row["ms_per_article"])
        per_match = (
            row["ms_per_article"] / row["matches_per_article"] if row["matches_per_article"] else 0
        )
        lines.append(
            f"| {row['alerts']:,} | {row['mix']} | {row['ms_per_article']:.2f} | "
            f"{row['ms_per_article'] / base:.2f}x | {row['preselected_per_article']:.0f} | "
            f"{row['matches_per_article']:.1f} | {per_match:.3f} | {row['first_batch_s']:.2f} |"
        )
    delay, after = figures["to_matched_ms"], figures["searchable_to_matched_ms"]
    caught = figures["caught_up_s"]
    lines += [
        "",
        (
            f"Live, {alerts:,} alerts made over HTTP in {made_s:.0f} s: "
            f"{figures['acknowledged']:,} articles pushed at {figures['rate']:.0f}/s "
            f"for {figures['seconds']:.0f} s "
            f"({figures['push_failures']} failed); {figures['articles_matched']:,} of them matched "
            f"{figures['matches']:,} times; from the 200 to matches recorded p50 "
            f"{delay['p50']:.0f} ms, p99 {delay['p99']:.0f} ms, max {delay['max']:.0f} ms "
            f"(from searchable, as a checker polling every 50 ms saw it: p50 {after['p50']:.0f} "
            f"ms, p99 {after['p99']:.0f} ms); 200 to searchable p99 "
            f"{figures['to_searchable_ms']['p99']:.0f} ms; matching "
            + (
                f"caught up {caught:.1f} s after the last push"
                if caught is not None
                else "had not caught up 120 s after the last push"
            )  # fmt: skip
        ),
    ]
    return "\n".join(lines)

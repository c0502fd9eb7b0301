"""Alerts over a real gunicorn and its writer, on each engine: saved searches
matched against pushed articles, each match once, equal to what ``/search`` finds."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from search.alerts import Alerts
from search.cli import reindex_main
from search.ingest.pushes import PushLog
from search.keys import Keys
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore
from search.webhooks import SIGNATURE, signature
from tests.conftest import (
    ServedCopy,
    Server,
    free_port,
    kill_at_phase,
    metric,
    process_state,
    wait_for,
)
from tests.http.test_writes import article, call, children_of

WORDS = ["harbour", "election", "budget", "storm", "wombat"]
PEOPLE = [["Keir Starmer"], ["Rachel Reeves"], ["Keir Starmer", "Rachel Reeves"], []]
DATES = ["2026-11-02", "2026-12-01", "2025-06-30", None]
ALERTS = [
    {"q": "harbour"}, {"q": "harbour storm"}, {"q": '"budget vote"'}, {"q": "wombat OR storm"},
    {"q": "election -budget"}, {"q": "title:storm"}, {"q": "elect*"}, {"q": "wombats"},
    {"q": "harbour", "people": ["Keir Starmer"]}, {"q": "", "people": ["Rachel Reeves"]},
    {"q": "budget", "from": "2026-01-01"}, {"q": "storm", "to": "2026-01-01"},
    {"q": "people:reeves"}, {"q": "harbour election budget", "match": "any"},
    {"q": "zanzibarite"}, {"q": "stor~"},
]  # fmt: skip


def pushed(number: int) -> dict[str, Any]:
    """Articles of varied words, people and dates, people given (no NER to wait for)."""
    one, two = WORDS[number % 5], WORDS[(number * 3 + 1) % 5]
    record = {"id": f"alerted/{number}", "title": f"{one.title()} news {number}",
              "body": f"The {one} and the {two} made the news: a budget vote, story {number}.",
              "people": PEOPLE[number % 4]}  # fmt: skip
    if DATES[number % 4]:
        record["date"] = DATES[number % 4]
    return record


def expected(server: Server, alert: dict[str, Any], ids: set[str]) -> set[str]:
    """What ``/search`` finds of the alert's query among ``ids``."""
    params = {
        name: alert[name] for name in ("q", "people", "from", "to", "match") if alert.get(name)
    }
    found: set[str] = set()
    for page in itertools.count(1):
        status, body = server.get("/search", {**params, "per_page": 100, "page": page})
        assert status == 200, body
        found |= {hit["id"] for hit in body["hits"]}
        if not body["hits"]:
            return found & ids


def search_ids(server: Server, q: str) -> list[str]:
    status, body = server.get("/search", {"q": q, "per_page": 100})
    assert status == 200, body
    return [hit["id"] for hit in body["hits"]]


def matches(server: Server, alert_id: str, key: str, limit: int = 7) -> list[str]:
    """Every match of an alert, following ``next`` until nothing is left."""
    seen, after = [], "0"
    while True:
        status, body = call(
            server, "GET", f"/alerts/{alert_id}/matches?after={after}&limit={limit}", key=key
        )
        assert status == 200, body
        if not body["matches"]:
            return seen
        seen += [match["id"] for match in body["matches"]]
        after = body["next"]


def test_alerts_match_what_search_finds_among_new_articles_each_once(
    served_copy: ServedCopy,
) -> None:
    server = served_copy.server
    _, key = Keys(served_copy.indexer.store.root).create("write")
    made = []
    for alert in ALERTS:
        status, body = call(server, "POST", "/alerts", {"name": alert["q"], **alert}, key)
        assert status == 201 and body["secret"], body
        made.append((body["id"], alert))
    first = [pushed(n) for n in range(40)]
    assert call(server, "POST", "/documents?wait=true", first, key)[0] == 200
    # An alert made now matches only what comes after it.
    status, late = call(server, "POST", "/alerts", {"q": "harbour"}, key)
    assert status == 201
    second = [pushed(n) for n in range(40, 80)]
    assert call(server, "POST", "/documents?wait=true", second, key)[0] == 200
    everything = {record["id"] for record in first + second}
    wanted = {alert_id: expected(server, alert, everything) for alert_id, alert in made}
    assert sum(len(ids) for ids in wanted.values()) > 100  # the shapes match, and differ
    wait_for(lambda: all(set(matches(server, i, key, 100)) == wanted[i] for i in wanted), 30,
             "every alert's matches")  # fmt: skip
    for alert_id, ids in wanted.items():
        walked = matches(server, alert_id, key)
        assert len(walked) == len(set(walked)) and set(walked) == ids
    later = {record["id"] for record in second}
    assert set(matches(server, late["id"], key)) == expected(server, {"q": "harbour"}, later)
    # Pushed again, changed: an article already matched is not matched twice.
    assert call(server, "POST", "/documents?wait=true", first[:5], key)[0] == 200
    assert all(len(matches(server, i, key)) == len(wanted[i]) for i in wanted)


def test_alerts_need_a_write_key_and_a_query_that_parses(served_copy: ServedCopy) -> None:
    server, keys = served_copy.server, Keys(served_copy.indexer.store.root)
    _, search_key = keys.create("search")
    _, key = keys.create("write")
    assert call(server, "POST", "/alerts", {"q": "x"})[0] == 401
    assert call(server, "POST", "/alerts", {"q": "x"}, search_key)[0] == 403
    for bad, code in [({"q": '"open'}, "invalid_query"), ({"q": "x", "from": "May"}, "invalid_parameter"),
                      ({"q": "x", "colour": "red"}, "invalid_parameter"), (["x"], "invalid_body"),
                      ({"q": "x", "webhook": "ftp://x"}, "invalid_parameter")]:  # fmt: skip
        status, body = call(server, "POST", "/alerts", bad, key)
        assert status == 400 and body["error"]["code"] == code, (bad, body)
    status, made = call(server, "POST", "/alerts", {"q": "storm", "name": "Storms"}, key)
    assert status == 201
    listed = call(server, "GET", "/alerts", key=key)[1]["alerts"]
    assert [alert["id"] for alert in listed] == [made["id"]] and "secret" not in listed[0]
    assert call(server, "GET", f"/alerts/{made['id']}", key=key)[1]["name"] == "Storms"
    assert call(server, "DELETE", f"/alerts/{made['id']}", key=key)[0] == 200
    assert call(server, "GET", f"/alerts/{made['id']}", key=key)[0] == 404
    assert call(server, "GET", "/alerts/nope/matches", key=key)[0] == 404


def test_a_folder_reindex_matches_what_it_adds_or_changes_once(served_copy: ServedCopy) -> None:
    """``search-reindex`` matches its new and changed articles; a run that changes
    nothing, a full rebuild included, matches nothing more."""
    server, corpus = served_copy.server, served_copy.corpus
    index = served_copy.indexer.store.root
    _, key = Keys(index).create("write")
    status, alert = call(server, "POST", "/alerts", {"q": "wombat"}, key)
    assert status == 201
    (corpus / "wombat1.txt").write_text("Wombat seen\n\nA wombat was seen near the harbour.\n")
    (corpus / "wombat2.txt").write_text("Wombat again\n\nA second wombat crossed a road.\n")
    assert reindex_main([str(corpus), "--index", str(index), "--quiet"]) == 0
    found: list[set[str]] = []
    wait_for(lambda: found.append(set(search_ids(server, "wombat"))) or len(found[-1]) == 2, 10,
             "both new articles searchable")  # fmt: skip
    assert set(matches(server, alert["id"], key)) == found[-1]
    assert reindex_main([str(corpus), "--index", str(index), "--quiet"]) == 0
    assert reindex_main([str(corpus), "--index", str(index), "--quiet", "--full"]) == 0
    assert len(matches(server, alert["id"], key)) == 2


def test_a_reindex_killed_after_its_write_loses_no_match(
    served_copy: ServedCopy, tmp_path: Path
) -> None:
    """Killed with its articles written and their matches found, not recorded: the
    service's writer records them when it runs again; killed once more, the next
    reindex does. Each match once."""
    corpus, index = served_copy.corpus, served_copy.indexer.store.root
    served_copy.server.stop()
    alerts, pushes = Alerts(index), PushLog(index)
    alert = alerts.create({"q": "wombat"}, None, pushes.applied())
    command = [sys.executable, "-m", "search.cli", "reindex", str(corpus), "--index", str(index),
               "--quiet"]  # fmt: skip
    for number, then in ((1, "the service"), (2, "a reindex")):
        (corpus / f"wombat{number}.txt").write_text(f"Wombat {number}\n\nA wombat came.\n")
        assert kill_at_phase(command, "matching", tmp_path) == -signal.SIGKILL
        assert f"wombat{number}" in {a.id for a in LocalStore(index).stored_docs()}
        assert len(alerts.matches(alert.id, None, 100)["matches"]) == number - 1
        assert f"wombat{number}" in alerts.noted()
        if then == "the service":
            restarted = Server(index)
            try:
                wait_for(lambda: len(alerts.matches(alert.id, None, 100)["matches"]) == 1, 30,
                         "the writer to match what the killed reindex wrote")  # fmt: skip
            finally:
                restarted.stop()
        else:
            assert reindex_main([str(corpus), "--index", str(index), "--quiet"]) == 0
    found = [match["id"] for match in alerts.matches(alert.id, None, 100)["matches"]]
    assert found == ["wombat1", "wombat2"] and alerts.noted() == {}


class Receiver:
    """A webhook receiver on a loopback port: every call's headers and body."""

    def __init__(self, port: int) -> None:
        calls = self.calls = list[tuple[dict[str, str], bytes]]()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                calls.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        return [match["id"] for _, body in self.calls for match in json.loads(body)["matches"]]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_down_for_a_while_gets_every_match_signed_once_it_returns(
    served_copy: ServedCopy,
) -> None:
    server = served_copy.server
    _, key = Keys(served_copy.indexer.store.root).create("write")
    port = free_port()
    hook = {"q": "zanzibarite", "webhook": f"http://127.0.0.1:{port}/hook"}
    status, alert = call(server, "POST", "/alerts", hook, key)
    assert status == 201
    sent = [article(n) for n in range(130)]  # more than one call's batch
    assert call(server, "POST", "/documents?wait=true", sent, key)[0] == 200
    wait_for(lambda: len(matches(server, alert["id"], key, 1000)) == 130, 30, "the matches")
    wait_for(
        lambda: metric(server, "search_webhook_calls_total", outcome="failed") >= 2,
        30,
        "calls to the receiver while it is down",
    )
    receiver = Receiver(port)
    try:
        wait_for(lambda: set(receiver.ids()) == {a["id"] for a in sent}, 60, "the backlog")
        more = [article(n) for n in range(130, 135)]
        assert call(server, "POST", "/documents?wait=true", more, key)[0] == 200
        wanted = {a["id"] for a in sent + more}
        wait_for(lambda: set(receiver.ids()) == wanted, 30, "the new matches")
    finally:
        receiver.stop()
    assert len(receiver.ids()) == len(wanted)  # nothing twice
    for headers, body in receiver.calls:
        assert headers[SIGNATURE] == signature(alert["secret"], body)
        assert json.loads(body)["alert"] == alert["id"]
        assert len(json.loads(body)["matches"]) <= 100


def shaped(n: int) -> dict[str, Any]:
    """Alert ``n`` of many shapes: words, phrases, OR, NOT, fields, wildcards, fuzzy
    words, people and date filters."""
    one, two = WORDS[n % 5], WORDS[(n // 5) % 5]
    shapes = [one, f"{one} {two}", f'"{one} and"', f"{one} OR {two}", f"{one} -{two}",
              f"title:{one}", f"{one[:3]}*", f"{one}~", f"people:{PEOPLE[n % 3][0].split()[1]}",
              f"({one} OR {two}) story"]  # fmt: skip
    alert: dict[str, Any] = {"q": shapes[n % len(shapes)]}
    if n % 7 == 1:
        alert["people"] = PEOPLE[n % 3]
    if n % 11 == 2:
        alert["from"] = "2026-01-01"
    if n % 13 == 3:
        alert["to"] = "2026-06-30"
    return alert


def test_a_thousand_alerts_match_what_search_finds_among_pushed_and_reindexed_articles(
    served_copy: ServedCopy,
) -> None:
    server, corpus = served_copy.server, served_copy.corpus
    index = served_copy.indexer.store.root
    _, key = Keys(index).create("write")
    made = {}
    for n in range(1000):
        status, body = call(server, "POST", "/alerts", shaped(n), key)
        assert status == 201, body
        made[body["id"]] = shaped(n)
    sent = [pushed(n) for n in range(500)]
    assert call(server, "POST", "/documents?wait=true", sent, key)[0] == 200
    records = [{**pushed(n), "id": f"filed/{n}"} for n in range(500, 1000)]
    (corpus / "filed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert reindex_main([str(corpus), "--index", str(index), "--quiet"]) == 0
    new = {r["id"] for r in sent + records}
    service = SearchService(LocalStore(index), cache_size=0)
    # 170 shapes among the 1,000 alerts: each searched once (a minute of the suite).
    shapes = {_key(alert): alert for alert in made.values()}
    found = {key: found_in(service, alert, new) for key, alert in shapes.items()}
    service.close()
    wanted = {alert_id: found[_key(alert)] for alert_id, alert in made.items()}
    assert sum(map(len, wanted.values())) > 50_000
    got: dict[str, list[str]] = {alert_id: [] for alert_id in wanted}

    def all_matched() -> bool:
        behind = [i for i in wanted if len(got[i]) < len(wanted[i])]
        got.update({i: matches(server, i, key, 1000) for i in behind})
        return all(len(got[i]) >= len(wanted[i]) for i in behind)

    wait_for(all_matched, 60, "every alert's matches")
    for alert_id, ids in wanted.items():
        got[alert_id] = matches(server, alert_id, key, 1000)
        assert len(got[alert_id]) == len(set(got[alert_id])), made[alert_id]
        assert set(got[alert_id]) == ids, made[alert_id]


def _key(alert: dict[str, Any]) -> str:
    """Alerts of one shape have one key."""
    return json.dumps(alert, sort_keys=True)


def found_in(service: SearchService, alert: dict[str, Any], ids: set[str]) -> set[str]:
    """What a search of the alert finds among ``ids``, in-process over the index: every
    match, as ``/export`` gives them (no highlights to make)."""
    params = {name: alert[name] for name in ("q", "people", "from", "to") if name in alert}
    found = {article.id for batch in service.export(parse_request(params)) for article in batch}
    return found & ids


def test_a_service_killed_while_matching_loses_no_match_and_records_none_twice(
    served_copy: ServedCopy, tmp_path: Path
) -> None:
    """A client has read the matches of a first batch by cursor. The writer stops
    itself with a second batch applied and its matches found, not recorded; every
    process is killed there; the restarted service records them all, once, and the
    client's cursor gives it those and nothing it already had."""
    index = served_copy.indexer.store.root
    served_copy.server.stop()
    alerts, pushes = Alerts(index), PushLog(index)
    alert = alerts.create({"q": "zanzibarite"}, None, pushes.applied())
    _, key = Keys(index).create("write")
    first = [article(n) for n in range(50, 60)]
    before = Server(index)
    try:
        assert call(before, "POST", "/documents?wait=true", first, key)[0] == 200
        wait_for(lambda: len(alerts.matches(alert.id, None, 1000)["matches"]) == len(first), 30,
                 "the first batch's matches")  # fmt: skip
        status, page = call(before, "GET", f"/alerts/{alert.id}/matches?after=0", key=key)
        assert status == 200 and {m["id"] for m in page["matches"]} == {a["id"] for a in first}
        cursor = page["next"]  # where the client is
    finally:
        before.stop()
    marker = tmp_path / "reached"
    paused = Server(index, SEARCH_PAUSE_AT="matching", SEARCH_PAUSE_FILE=str(marker))
    sent = [article(n) for n in range(50)]
    assert call(paused, "POST", "/documents", sent, key)[0] == 200
    wait_for(marker.exists, 60, "the writer to reach matching")
    processes = [*children_of(paused.process.pid), paused.process.pid]
    assert any(process_state(pid) == "T" for pid in processes), "the writer is not stopped"
    assert pushes.applied() == pushes.counts()["pushed"]  # applied, matched, not recorded
    assert len(alerts.matches(alert.id, None, 1000)["matches"]) == len(first)
    for pid in processes:
        os.kill(pid, signal.SIGKILL)
    paused.stop()
    wait_for(lambda: not any(process_state(pid) not in ("", "Z") for pid in processes), 10,
             "every process to die")  # fmt: skip
    restarted = Server(index)
    try:
        wanted = {a["id"] for a in sent}
        wait_for(lambda: {m["id"] for m in alerts.matches(alert.id, cursor, 1000)["matches"]}
                 == wanted, 60, "the matches after the restart")  # fmt: skip
        assert len(matches(restarted, alert.id, key)) == len(wanted) + len(first)
        status, page = call(restarted, "GET", f"/alerts/{alert.id}/matches?after={cursor}&limit=100",
                            key=key)  # fmt: skip
        assert status == 200 and sorted(m["id"] for m in page["matches"]) == sorted(wanted)
    finally:
        restarted.stop()

"""Writing over HTTP, on a real gunicorn over each engine: keys and their scopes,
pushes acknowledged durably and searchable, deletes, and pushed articles kept by
every reindex."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from search import phases
from search.engines import load
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.ingest.pushes import PushLog
from search.keys import Keys
from search.stores.local import LocalStore
from tests.conftest import ServedCopy, Server, process_state, wait_for

NDJSON = "application/x-ndjson"


def call(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    key: str | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """Status and JSON of one request (``body`` sent as JSON, or as it is when bytes)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method)
    request.add_header("Content-Type", content_type)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def article(number: int, word: str = "zanzibarite") -> dict[str, Any]:
    return {"id": f"pushed/{number}", "title": f"Pushed story {number}",
            "body": f"A {word} reported from the harbour, story {number}. It was pushed.",
            "people": ["Keir Starmer"], "date": "2026-12-01"}  # fmt: skip


def found(server: Server, word: str) -> int:
    status, body = server.get("/search", {"q": word})
    assert status == 200, body
    return int(body["total"])


def test_a_write_needs_a_write_key_and_a_read_is_open(served_copy: ServedCopy) -> None:
    server, keys = served_copy.server, Keys(served_copy.indexer.store.root)
    _, search_key = keys.create("search")
    revoked, revoked_key = keys.create("write")
    keys.revoke(revoked.id)
    for key, status, code in [(None, 401, "unauthorized"), ("nsk_x_y", 401, "unauthorized"),
                              (revoked_key, 401, "unauthorized"), (search_key, 403, "forbidden")]:  # fmt: skip
        answer = call(server, "POST", "/documents", article(1), key)
        assert answer == (status, answer[1]) and answer[1]["error"]["code"] == code, answer
        assert call(server, "DELETE", "/documents/pushed/1", key=key)[0] == status
    assert call(server, "GET", "/keys", key=search_key)[0] == 403
    assert server.get("/search", {"q": "paris"})[0] == 200


def test_a_key_needed_for_reads_too_when_asked_and_never_logged(
    tmp_path: Path, served_copy: ServedCopy
) -> None:
    index = served_copy.indexer.store.root
    keys = Keys(index)
    _, admin = keys.create("admin")
    log = tmp_path / "server.log"
    guarded = Server(index, log=log, SEARCH_REQUIRE_KEY="true", SEARCH_LOG_LEVEL="info")
    try:
        assert guarded.get("/search", {"q": "paris"})[0] == 401
        assert guarded.get("/health")[0] == 200 and guarded.get("/ready")[0] == 200
        assert call(guarded, "GET", "/search?q=paris", key=admin)[0] == 200
        status, made = call(guarded, "POST", "/keys", {"scope": "write", "name": "cms"}, admin)
        assert status == 201 and made["key"].startswith("nsk_")
        listed = call(guarded, "GET", "/keys", key=admin)[1]["keys"]
        assert made["id"] in [k["id"] for k in listed] and "key" not in listed[0]
        assert call(guarded, "DELETE", f"/keys/{made['id']}", key=admin)[1]["revoked"]
        assert call(guarded, "POST", "/documents", article(1), made["key"])[0] == 401
    finally:
        guarded.stop()
    logs = log.read_text()
    assert '"GET /search?q=paris' in logs  # the access log is there...
    assert admin not in logs and made["key"] not in logs  # ...and no key in it


def test_pushed_articles_are_searchable_with_wait_and_bad_items_get_their_errors(
    served_copy: ServedCopy,
) -> None:
    server = served_copy.server
    _, key = Keys(served_copy.indexer.store.root).create("write")
    lines = [json.dumps(article(n)) for n in range(3)]
    # A blank line is skipped, and lines keep their numbers.
    body = "\n".join([lines[0], "", "{not json", lines[1], json.dumps({"title": "no id"}),
                      json.dumps({"id": "empty", "body": " "}), lines[2]])  # fmt: skip
    status, answer = call(server, "POST", "/documents?wait=true", body.encode(), key, NDJSON)
    assert status == 200 and answer["errors"] is True and answer["searchable"] is True
    assert [(i["id"], i["status"]) for i in answer["items"]] == [
        ("pushed/0", "created"),
        (None, "error"),
        ("pushed/1", "created"),
        (None, "error"),
        ("empty", "error"),
        ("pushed/2", "created"),
    ]
    assert [i.get("line") for i in answer["items"] if i["status"] == "error"] == [3, 5, 6]
    assert call(server, "POST", "/documents?wait=maybe", article(5), key)[0] == 400
    assert found(server, "zanzibarite") == 3
    again = call(server, "POST", "/documents?wait=true", [article(0), article(9)], key)[1]
    assert [i["status"] for i in again["items"]] == ["unchanged", "created"]
    changed = call(server, "POST", "/documents?wait=true", article(0, "quokkaite"), key)[1]
    assert changed["items"][0]["status"] == "updated"
    assert found(server, "quokkaite") == 1 and found(server, "zanzibarite") == 3
    assert server.get("/documents/pushed/9")[1]["people"] == ["Keir Starmer"]
    assert call(server, "POST", "/documents", b"[1, 2", key)[1]["error"]["code"] == "invalid_body"
    stats = server.get("/stats")[1]["pushes"]
    assert stats["pending"] == 0 and stats["applied"] == stats["pushed"] > 0


def test_a_deleted_article_goes_from_search_and_an_unknown_one_is_404(
    served_copy: ServedCopy,
) -> None:
    server = served_copy.server
    _, key = Keys(served_copy.indexer.store.root).create("write")
    call(server, "POST", "/documents?wait=true", [article(1), article(2)], key)
    assert call(server, "DELETE", "/documents/pushed/1", key=key) == (
        200, {"id": "pushed/1", "status": "deleted"})  # fmt: skip
    wait_for(lambda: found(server, "zanzibarite") == 1, 10, "the deleted article to go")
    wait_for(lambda: server.get("/documents/pushed/1")[0] == 404, 10, "a 404 from every worker")
    assert call(server, "DELETE", "/documents/bbc/politics/001.txt", key=key)[0] in (200, 404)
    assert call(server, "DELETE", "/documents/no-such-article", key=key)[0] == 404


def test_a_steady_push_is_committed_in_batches_at_least_a_gap_apart(
    served_copy: ServedCopy,
) -> None:
    """Pushes one after another as fast as they are answered: the writer commits at
    most once every ``commit_gap_s`` of the engine (Xapian's: a search reads a
    revision for that long at least before a commit discards it), several articles
    a commit."""
    server = served_copy.server
    _, key = Keys(served_copy.indexer.store.root).create("write")
    first = server.get("/stats")[1]["commit"]
    started, pushed = time.monotonic(), 0
    while time.monotonic() - started < 2.0:
        assert call(server, "POST", "/documents", article(pushed, "steadyite"), key)[0] == 200
        pushed += 1
    seconds = time.monotonic() - started
    wait_for(lambda: found(server, "steadyite") == pushed, 10, "every push to be searchable")
    commits = server.get("/stats")[1]["commit"] - first
    gap = load(served_copy.indexer.store.current_engine() or "").commit_gap_s
    assert commits >= 2 and (gap == 0 or commits <= seconds / gap + 2), (commits, pushed)
    assert pushed >= 3 * commits  # batches, not a commit a push


def test_a_reindex_of_folders_and_a_full_rebuild_keep_pushed_articles(
    served_copy: ServedCopy,
) -> None:
    server, store = served_copy.server, served_copy.indexer.store
    _, key = Keys(store.root).create("write")
    call(server, "POST", "/documents?wait=true", [article(1), article(2)], key)
    indexer = Indexer(store, served_copy.indexer.finder, engine=served_copy.indexer.engine,
                      pushes=PushLog(store.root))  # fmt: skip
    assert indexer.reindex([served_copy.corpus]).deleted == 0
    assert found(server, "zanzibarite") == 2
    summary = indexer.reindex([served_copy.corpus], full=True)
    assert summary.full
    wait_for(lambda: found(server, "zanzibarite") == 2, 10, "the rebuilt index")
    assert server.get("/documents/pushed/2")[1]["title"] == "Pushed story 2"


def children_of(pid: int) -> list[int]:
    """Every process whose parent is ``pid`` (gunicorn's workers and the writer)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


PUSHED_BEFORE_THE_KILL = 1000


def _whole(server: Server, path: str, answers: list[dict[str, Any]]) -> bool:
    """Whether ``path`` answers 200 (keeping the answer): a worker that has not yet
    looked for the newest commit answers 404 for a moment."""
    status, body = server.get(path)
    if status == 200:
        answers.append(body)
    return status == 200


def kill_around_the_commit(index: Path, marker: Path, phase: str, **env: str) -> None:
    """The writer stops itself at ``phase`` of its first commit (before it, during
    it, or after it but before the log says so); every process of the service (the
    master, its workers, the writer) is killed there, with 1,000 articles acknowledged
    and not marked applied; after a restart every one of them is searchable, whole,
    and once."""
    _, key = Keys(index).create("write")
    paused = Server(index, SEARCH_PAUSE_AT=phase, SEARCH_PAUSE_FILE=str(marker), **env)
    pushed = [article(n) for n in range(PUSHED_BEFORE_THE_KILL)]
    status, answer = call(paused, "POST", "/documents", pushed, key)
    assert status == 200 and not answer["errors"]
    wait_for(marker.exists, 60, f"the writer to reach {phase}")
    assert marker.read_text().strip() == phase
    master = paused.process.pid
    processes = [*children_of(master), master]
    assert any(process_state(pid) == "T" for pid in processes), "the writer is not stopped"
    assert PushLog(index).applied() < PushLog(index).counts()["pushed"]
    for pid in processes:
        os.kill(pid, signal.SIGKILL)
    paused.stop()
    wait_for(lambda: not any(process_state(pid) not in ("", "Z") for pid in processes), 10,
             "every process to die")  # fmt: skip
    log = marker.parent / "restarted.log"
    restarted = Server(index, log=log, **{"SEARCH_LOG_LEVEL": "info", **env})
    try:
        try:
            wait_for(lambda: found(restarted, "zanzibarite") == len(pushed), 90,
                     "every pushed article")  # fmt: skip
        except AssertionError as missed:  # what the service said, for the reader
            said = [line for line in log.read_text().splitlines() if '"GET /search' not in line]
            raise AssertionError(f"{missed}; {found(restarted, 'zanzibarite')} found; the "
                                 "restarted service logged:\n" + "\n".join(said[-60:])) from None  # fmt: skip
        for sent in pushed[:: len(pushed) // 20]:
            answers: list[dict[str, Any]] = []
            path = f"/documents/{sent['id']}"
            wait_for(lambda: _whole(restarted, path, answers), 10, f"{path} from every worker")  # noqa: B023
            assert {name: answers[-1][name] for name in sent} == sent
    finally:
        restarted.stop()


@pytest.mark.parametrize("phase", phases.WRITER_PHASES)
def test_acknowledged_pushes_survive_a_kill_of_every_process_around_the_commit(
    tmp_path: Path, served_copy: ServedCopy, phase: str
) -> None:
    served_copy.server.stop()
    kill_around_the_commit(served_copy.indexer.store.root, tmp_path / "reached", phase)


def test_a_full_disk_answers_507_and_loses_nothing_acknowledged(
    small_disk: Path, corpus: Path, finder: PersonFinder, engine: str
) -> None:
    index = small_disk / "index"
    Indexer(LocalStore(index), finder, engine=engine).reindex([corpus])
    _, key = Keys(index).create("write")
    server = Server(index)
    try:
        assert call(server, "POST", "/documents?wait=true", article(1), key)[0] == 200
        filler = small_disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb", buffering=0) as out:
            while True:
                out.write(b"\0" * 65536)
        status, body = call(server, "POST", "/documents", [article(n) for n in range(2, 40)], key)
        assert status == 507 and body["error"]["code"] == "insufficient_storage", body
        filler.unlink()
        assert call(server, "POST", "/documents?wait=true", article(40), key)[0] == 200
        assert found(server, "zanzibarite") == 2  # the one before, the one after
        assert server.get("/documents/pushed/1")[0] == 200
    finally:
        server.stop()


def test_a_synonym_set_put_applies_to_the_next_search_on_every_worker(
    served_copy: ServedCopy,
) -> None:
    server = served_copy.server
    _, key = Keys(served_copy.indexer.store.root).create("write")
    before = [found(server, "xyzzydecl") for _ in range(10)]
    entries = [{"synonyms": ["declaration", "xyzzydecl"]}]
    assert call(server, "PUT", "/synonyms", entries)[0] == 401
    assert call(server, "PUT", "/synonyms", [{"synonyms": ["one"]}], key)[0] == 400
    assert call(server, "PUT", "/synonyms", entries, key) == (200, entries)
    assert server.get("/synonyms") == (200, entries)
    # New connections each: the kernel spreads them over both workers.
    after = [found(server, "xyzzydecl") for _ in range(20)]
    assert before == [0] * 10 and min(after) == max(after) == found(server, "declaration") > 0


def test_people_of_pushed_articles_are_found_after_a_kill_while_finding_them(
    tmp_path: Path, served_copy: ServedCopy
) -> None:
    """Pushed without people, three articles are committed, then the writer stops at
    its NER; every process is killed there; the next writer finds their people."""
    served_copy.server.stop()
    index = served_copy.indexer.store.root
    _, key = Keys(index).create("write")
    marker = tmp_path / "reached"
    paused = Server(index, SEARCH_PAUSE_AT="ner", SEARCH_PAUSE_FILE=str(marker))
    body = "Keir Starmer met Emmanuel Macron in Paris on Monday to talk about trade."
    pushed = [{"id": f"nameless/{n}", "title": f"Talks {n}", "body": body} for n in range(3)]
    assert call(paused, "POST", "/documents?wait=true", pushed, key)[1]["searchable"]
    wait_for(marker.exists, 60, "the writer to reach its NER")
    assert paused.get("/stats")[1]["people_pending"] == 3
    assert paused.get("/documents/nameless/0")[1]["people"] == []
    master = paused.process.pid
    for pid in [*children_of(master), master]:
        os.kill(pid, signal.SIGKILL)
    paused.stop()
    restarted = Server(index)
    try:
        wait_for(lambda: restarted.get("/stats")[1]["people_pending"] == 0, 60, "the people")
        # Each worker sees the commit with the people within its refresh interval.
        wanted = {"Keir Starmer", "Emmanuel Macron"}
        wait_for(lambda: wanted <= set(restarted.get("/documents/nameless/2")[1]["people"]),
                 10, "the people of a pushed article")  # fmt: skip
    finally:
        restarted.stop()

"""The real thing: search-serve (gunicorn) on a loopback port, queried over HTTP."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from search.ingest.names import fold
from search.ingest.people import PersonFinder
from search.stores.local import LocalStore
from tests.conftest import (
    BBC,
    SAMPLE_A,
    SAMPLE_B,
    SAMPLES,
    ServedCopy,
    Server,
    children,
    get_json,
)


def test_served_search_documents_and_errors(server: Server) -> None:
    status, body = get_json(server.url + "/search?q=Paris+Declaration")
    assert status == 200
    assert {hit["id"] for hit in body["hits"]} == {SAMPLE_A, SAMPLE_B}
    assert all("<mark>" in "".join(hit["highlights"]["body"]) for hit in body["hits"])
    assert get_json(server.url + "/documents/" + urllib.parse.quote(SAMPLE_A))[0] == 200
    status, body = get_json(server.url + "/search?per_page=1000")
    assert status == 400 and body["error"]["code"] == "invalid_parameter"
    status, body = get_json(server.url + "/nowhere")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_a_second_server_on_a_taken_address_is_refused(server: Server, index_dir: Path) -> None:
    """Workers bind with SO_REUSEPORT, which a second server would silently share."""
    second = subprocess.run(
        [sys.executable, "-m", "search.cli", "serve", "--index", str(index_dir),
         "--bind", f"127.0.0.1:{server.port}"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert second.returncode == 2
    assert f"cannot listen on 127.0.0.1:{server.port}: Address already in use" in second.stderr
    assert get_json(server.url + "/health")[0] == 200


def test_a_server_opens_no_control_socket(tmp_path: Path, index_dir: Path) -> None:
    """gunicorn's management socket would sit at one path per user, shared by every
    server the user starts; the service has no use for it."""
    running = Server(index_dir, HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path))
    try:
        assert get_json(running.url + "/health")[0] == 200
        assert list(tmp_path.rglob("*.ctl")) == []
    finally:
        running.stop()


def _owners(server: Server, client_ports: set[int]) -> dict[int, int]:
    """Which worker holds the server's end of each client connection, by client port."""
    inodes = {}  # socket inode -> client port, from the server ends in /proc/net/tcp
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server.port:
            inodes[f"socket:[{inode}]"] = int(remote.split(":")[1], 16)
    owners = {}
    for pid in children(server.process.pid):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                port = inodes.get(os.readlink(fd))
                if port in client_ports:
                    owners[port] = pid
    return owners


def test_keep_alive_connections_are_spread_over_both_workers(server: Server) -> None:
    """One worker must not keep every connection (the other core would idle): with a
    socket each, the kernel spreads them; 16 all on one is a 1 in 30,000 chance."""
    connections = [http.client.HTTPConnection("127.0.0.1", server.port) for _ in range(16)]
    try:
        for connection in connections:
            connection.request("GET", "/health")
            assert connection.getresponse().read()
        ports = {connection.sock.getsockname()[1] for connection in connections}
        owners = _owners(server, ports)
        assert set(owners) == ports
        assert len(set(owners.values())) == 2
    finally:
        for connection in connections:
            connection.close()


def test_live_reindex_swaps_without_a_failed_request(served_copy: ServedCopy) -> None:
    """A client loop keeps querying while full and incremental reindexes swap the index."""
    corpus, indexer, running = served_copy.corpus, served_copy.indexer, served_copy.server
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def client_loop() -> None:
        nonlocal answered
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                status, body = get_json(running.url + "/search?q=paris&facets=people")
                if status != 200 or body["total"] < 2:
                    failures.append(f"{status} {body}")
                answered += 1
            except Exception as exc:  # any transport error is a failed request
                failures.append(repr(exc))

    threads = [threading.Thread(target=client_loop) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for round_number in range(3):
            (corpus / f"fresh{round_number}.txt").write_text(
                f"Wombat news {round_number}\n\nA wombat named Round{round_number} visited Paris today.\n"
            )
            indexer.reindex([corpus], full=round_number != 1)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                status, body = get_json(running.url + f"/search?q=round{round_number}")
                if status == 200 and body["total"] == 1:
                    break
                time.sleep(0.1)
            else:
                failures.append(f"article of round {round_number} never appeared")
        shutil.rmtree(corpus / "bbc")
        indexer.reindex([corpus])
        generations = _generations_once_workers_move_on(indexer.store.root)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert answered > 20
    assert failures == []
    assert generations == 1


def _generations_once_workers_move_on(index: Path, timeout: float = 10.0) -> int:
    """Generations left on disk once every worker has swapped off the old ones.

    A worker lets go of a replaced generation on its next request after the
    refresh interval, so a reindex's own cleanup may find one still held; later
    cleanups (the next reindex's, here called directly) remove it.
    """
    store = LocalStore(index)
    deadline = time.monotonic() + timeout
    while len(list(index.glob("gen-*"))) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
        store.cleanup()
    return len(list(index.glob("gen-*")))


def scrape(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` by name and labels."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_move_with_requests_across_workers(server: Server, index_dir: Path) -> None:
    ok = (
        "search_http_requests_total",
        (("method", "GET"), ("route", "/search"), ("status", "200")),
    )
    bad = (
        "search_http_requests_total",
        (("method", "GET"), ("route", "/search"), ("status", "400")),
    )
    before = scrape(server)
    for _ in range(6):  # spread over both workers; all are counted wherever scraped
        assert server.get("/search", {"q": "paris"})[0] == 200
    assert server.get("/search", {"per_page": "0"})[0] == 400
    after = scrape(server)
    assert after[ok] - before.get(ok, 0.0) == 6
    assert after[bad] - before.get(bad, 0.0) == 1
    searches = ("search_results_count", ())
    assert after[searches] - before.get(searches, 0.0) == 6
    latency = (
        "search_http_request_duration_seconds_count",
        (("route", "/search"), ("status", "200")),
    )
    assert after[latency] - before.get(latency, 0.0) == 6
    assert (
        after[("search_index_documents", ())]
        == LocalStore(index_dir).open_current().reader.doc_count()
    )
    assert after[("search_index_last_reindex_seconds", ())] > 1.6e9


@pytest.mark.slow
def test_a_fresh_rebuild_with_ner_is_searched_before_its_people_are_found(
    tmp_path: Path, finder: PersonFinder
) -> None:
    """A new index's reindex with NER (the quick start's, over the BBC politics set and
    the samples: the whole BBC set took two minutes of the suite), through the real
    command line, publishes the articles first: the service answers while people are
    still being found, /stats counts them down, and when it says none are left every
    article has the people NER finds for it, and Tony Blair ranks as he should."""
    index, politics = tmp_path / "index", tmp_path / "bbc" / "politics"
    shutil.copytree(BBC / "politics", politics)  # ids as the whole set's: "politics/..."
    articles = len(list(SAMPLES.glob("*.txt"))) + len(list(politics.glob("*.txt")))
    started = time.monotonic()
    run = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "reindex", str(SAMPLES), str(politics.parent),
         "--index", str(index), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    running = None
    try:
        deadline = time.monotonic() + 120
        while not (index / "CURRENT").exists():
            assert run.poll() is None and time.monotonic() < deadline, "nothing was published"
            time.sleep(0.1)
        running = Server(index)
        status, body = running.get("/search", {"q": "blair", "facets": "people"})
        print(f"first search answered {time.monotonic() - started:.1f}s after the reindex started")
        assert status == 200 and body["total"] > 0
        assert running.get("/stats")[1]["people_pending"] > 0  # served before people
        deadline = time.monotonic() + 900
        while (stats := running.get("/stats")[1])["people_pending"] > 0:
            assert time.monotonic() < deadline, "people were not all found in time"
            time.sleep(0.5)
        output, errors = run.communicate(timeout=60)
        assert run.returncode == 0, errors
        assert f"{articles} added, 0 updated, 0 deleted, 0 unchanged, 0 skipped" in output
        assert stats["documents"] == articles
        sample = sorted(BBC.glob("politics/*.txt"))[:40]
        for path in sample:
            doc_id = f"politics/{path.stem}"
            article = running.get(f"/documents/{doc_id}")[1]
            expected = next(iter(finder.people([f"{article['title']}\n\n{article['body']}"])))
            assert {fold(p) for p in article["people"]} == {fold(p) for p in expected}, doc_id
        facet = running.get("/search", {"q": "blair", "facets": "people"})[1]["facets"]["people"]
        assert {"value": "Tony Blair", "count": facet[0]["count"]} == facet[0]
        blair = running.get("/search", {"q": "Tony Blair"})[1]
        top = blair["hits"][:10]
        assert blair["total"] > 100 and sum(h["id"].startswith("politics/") for h in top) >= 8
        assert all("<mark>Blair</mark>" in "".join(h["highlights"]["body"]) for h in top)
        assert [h["score"] for h in top] == sorted((h["score"] for h in top), reverse=True)
    finally:
        if running is not None:
            running.stop()
        if run.poll() is None:
            run.kill()
        for stream in (run.stdout, run.stderr):
            if stream:
                stream.close()

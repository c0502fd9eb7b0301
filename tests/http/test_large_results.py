"""Walking and exporting a large result set (16x the BBC set: 35,600 articles) over
a real gunicorn on each engine: every article once, in order, while articles are
pushed, with the workers' memory flat while ``/export`` streams them all, and an
export that stops when its client leaves.

The index is written straight through the store (no extraction or NER: what is
under test is the walk), each article with a body of some 300 characters.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import itertools
import json
import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from search.ingest.stories import signature
from search.keys import Keys
from search.model import Article
from search.stores.local import LocalStore
from tests.conftest import Server, metric, wait_for
from tests.http.test_writes import call, children_of

# 16x the BBC set.
ARTICLES = 35_600
PAGE = 100
BODY = (
    "The wire desk filed this report on the harbour authority's budget, the storm that "
    "closed the coast road and the council vote that followed it. Officials said the "
    "figures would be published next week, and that the ferry timetable would change "
    "from Monday while repairs go on."
)
# Pages of a date walk between two pushes.
PAGES_A_PUSH = 25
# A worker holding the whole export would grow by far more than this: 35,600
# articles are some 17 MB of JSON, and several times that as Python objects.
RSS_GROWTH_MB = 25


def _article(number: int) -> Article:
    day = dt.date(2020, 1, 1) + dt.timedelta(days=number % 1500)
    doc_id = f"wire/{number:05d}"
    return Article(id=doc_id, title=f"Harbour report {number}", body=f"Report {number}. {BODY}",
                   date=day.isoformat(), people=[f"Reporter Number{number % 50}"],
                   path=doc_id, content_hash=str(number))  # fmt: skip


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[Server]:
    index = tmp_path_factory.mktemp(f"large-{engine}") / "index"
    minhash = signature(BODY)
    LocalStore(index).build(((_article(n), minhash) for n in range(ARTICLES)), engine, procs=2)
    server = Server(index, SEARCH_REFRESH_INTERVAL_S="0.2")
    yield server
    server.stop()


def walk(
    server: Server, params: dict[str, str], after_page: Callable[[int], None] = lambda _: None
) -> tuple[list[str], int]:
    """Every hit's id, following ``next_cursor`` from the first page; and ``total``.
    ``after_page`` is called with each page's number before the next is asked for."""
    ids: list[str] = []
    status, body = server.get("/search", {**params, "per_page": PAGE})
    total = body["total"]
    for page in itertools.count(1):
        assert status == 200, body
        ids += [hit["id"] for hit in body["hits"]]
        if body.get("next_cursor") is None:
            break
        after_page(page)
        status, body = server.get(
            "/search", {**params, "per_page": PAGE, "cursor": body["next_cursor"]}
        )
    return ids, total


def test_a_cursor_walks_every_article_of_a_large_set_once_in_relevance_order(large: Server) -> None:
    ids, total = walk(large, {"q": "harbour"})
    assert total == ARTICLES == len(ids) == len(set(ids))


def test_a_date_walk_sees_every_article_once_while_articles_are_pushed(large: Server) -> None:
    """New articles, newer than any, are pushed and made searchable between pages as
    the walk goes from the newest down (each page after one starts where the hits
    before it moved): every article there was when it began is seen once, nothing
    twice."""
    _, key = Keys(_index_of(large)).create("write")
    pushed: list[str] = []

    def push(page: int) -> None:
        if page % PAGES_A_PUSH:
            return
        record = {"id": f"late/{page}", "title": f"Harbour late {page}",
                  "body": f"Harbour news {page} arrived late.", "date": "2026-12-07",
                  "people": []}  # fmt: skip
        status, answer = call(large, "POST", "/documents?wait=true", record, key)
        assert status == 200 and answer["searchable"] is True, answer
        pushed.append(record["id"])

    ids, _ = walk(large, {"q": "harbour", "sort": "date"}, push)
    assert len(pushed) == ARTICLES // PAGE // PAGES_A_PUSH  # each between two pages
    assert len(ids) == len(set(ids))
    assert {f"wire/{n:05d}" for n in range(ARTICLES)} <= set(ids)
    newest = large.get("/search", {"q": "harbour", "sort": "date", "per_page": PAGE})[1]
    assert set(pushed) <= {hit["id"] for hit in newest["hits"]}  # served, at the top


def _index_of(server: Server) -> Path:
    return Path(server.process.args[server.process.args.index("--index") + 1])


@contextlib.contextmanager
def _export(server: Server, params: str) -> Iterator[http.client.HTTPResponse]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", f"/export?{params}")
        with connection.getresponse() as answer:
            yield answer
    finally:
        connection.close()


def _rss_mb(pids: list[int]) -> dict[int, float]:
    sizes = {}
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes[pid] = int(status.split("VmRSS:")[1].split()[0]) / 1024
    return sizes


def test_export_streams_every_article_in_order_with_the_workers_memory_flat(
    large: Server,
) -> None:
    workers = children_of(large.process.pid)
    expected, _ = walk(large, {"q": "report", "sort": "date"})
    before = _rss_mb(workers)
    peak = dict(before)
    got = []
    with _export(large, "q=report&sort=date") as answer:
        assert answer.status == 200
        for line in answer:
            got.append(json.loads(line)["id"])
            if len(got) % 2000 == 0:
                for pid, mb in _rss_mb(workers).items():
                    peak[pid] = max(peak[pid], mb)
    assert got == expected and len(got) == ARTICLES
    grown = {pid: peak[pid] - before[pid] for pid in workers}
    assert max(grown.values()) < RSS_GROWTH_MB, grown


def test_an_export_stops_when_its_client_leaves(large: Server) -> None:
    """The client reads the start of an export and drops its connection (a reset):
    the worker stops streaming, and does not search on to the end."""
    gone = metric(large, "search_exports_total", outcome="gone")
    exported = metric(large, "search_export_articles_total")
    with socket.create_connection(("127.0.0.1", large.port), timeout=30) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(b"GET /export?q=report HTTP/1.1\r\nHost: test\r\n\r\n")
        start = client.recv(4096)
        assert start.startswith(b"HTTP/1.1 200")
    wait_for(lambda: metric(large, "search_exports_total", outcome="gone") == gone + 1, 60,
             "the server to stop the export")  # fmt: skip
    assert metric(large, "search_export_articles_total") - exported < ARTICLES // 2

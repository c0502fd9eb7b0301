"""The served process under hostile clients: slow senders, oversized and broken
requests, queries that expand without end. A real gunicorn, raw sockets."""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import resource
import select
import socket
import string
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from search.http.worker import error_response, request_complete
from tests.conftest import BBC, Server, get_json, wait_for

TIME_LIMIT_S = 2.0


@pytest.fixture(scope="module")
def served(politics_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        politics_index,
        # The workers' metrics files, read by the test without asking the server.
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path_factory.mktemp("metrics")),
        SEARCH_TIME_LIMIT_S=str(TIME_LIMIT_S),
        SEARCH_REQUEST_READ_TIMEOUT_S="3",
        SEARCH_RESULT_CACHE="0",
    )
    yield running
    running.stop()


def raw(server: Server, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def health_seconds(server: Server) -> float:
    started = time.monotonic()
    status, _ = get_json(server.url + "/health", timeout=5.0)
    assert status == 200
    return time.monotonic() - started


def assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> str:
    assert status == expected, body[:300]
    assert headers["content-type"].startswith("application/json")
    return str(json.loads(body)["error"]["code"])


def test_head_answers_wherever_get_does(served: Server) -> None:
    for path in ("/health", "/ready", "/stats", "/search?q=blair", "/openapi.json", "/"):
        status, headers, body = raw(served, f"HEAD {path} HTTP/1.0\r\n\r\n".encode())
        assert status == 200, path
        assert body == b""
        assert int(headers["content-length"]) > 0


def test_an_over_long_request_line_is_a_json_414(served: Server) -> None:
    q = urllib.parse.quote("漢" * 1000)
    answer = raw(served, f"GET /search?q={q} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert assert_json_error(*answer, expected=414) == "uri_too_long"


def test_too_many_header_bytes_are_a_json_431(served: Server) -> None:
    headers = "".join(f"X-Filler-{n}: {'a' * 50}\r\n" for n in range(200))
    answer = raw(served, f"GET /health HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    assert assert_json_error(*answer, expected=431) == "headers_too_large"


def test_a_malformed_request_is_a_json_400(served: Server) -> None:
    answer = raw(served, b"GET /search?q=a\x00b HTTP/1.1\r\nHost: x\r\n\r\n")
    assert assert_json_error(*answer, expected=400) == "bad_request"


def test_gunicorn_errors_map_to_the_contracts_body() -> None:
    status, reason, body = error_response(RuntimeError("boom"))
    assert (status, reason) == (500, "Internal Server Error")
    assert json.loads(body) == {
        "error": {
            "code": "internal_error",
            "message": "the server failed to answer; it has been logged",
        }
    }


def still_open(sock: socket.socket) -> bool:
    """Whether the server has neither answered nor closed ``sock``."""
    sock.setblocking(False)
    try:
        return not sock.recv(1, socket.MSG_PEEK)  # b"": closed; bytes: answered
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def answer_of(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of the one answer the server sends before closing ``sock``."""
    sock.settimeout(20)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return (int(data.split()[1]) if data else 0), data.partition(b"\r\n\r\n")[2]


class Dribbler:
    """Slow clients: each sends a request line, then a header line every 2 s (for 30 s
    at most), never the blank line that ends the request."""

    def __init__(self, server: Server, count: int) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._dribble)
        self.thread.start()

    def _dribble(self) -> None:
        for line in range(15):
            if self.stop.wait(2.0):
                return
            for sock in self.socks:
                with contextlib.suppress(OSError):
                    sock.sendall(f"X-Slow-{line}: 1\r\n".encode())

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        for sock in self.socks:
            sock.close()


def test_hundreds_of_slow_and_idle_clients_cannot_stop_the_service(politics_index: Path) -> None:
    """500 slow clients (a header line every 2 s) and 500 idle kept-alive connections,
    all open while /health is probed and a search runs: each answers within 1 s and
    the time limit; then every slow client gets its JSON 408 when its time is up."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    server = Server(politics_index, SEARCH_REQUEST_READ_TIMEOUT_S="8", SEARCH_KEEPALIVE_S="60",
                    SEARCH_TIME_LIMIT_S=str(TIME_LIMIT_S), SEARCH_RESULT_CACHE="0")  # fmt: skip
    idle: list[http.client.HTTPConnection] = []
    slow: Dribbler | None = None
    try:
        for _ in range(500):
            kept = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            kept.request("GET", "/health")
            assert kept.getresponse().read()
            idle.append(kept)
        slow = Dribbler(server, 500)
        probes = [health_seconds(server) for _ in range(10)]
        started = time.monotonic()
        status, body = server.get("/search", {"q": "blair election", "facets": "people"})
        searched_s = time.monotonic() - started
        # The crowd was there throughout: no slow client answered yet, no idle one closed.
        assert all(still_open(sock) for sock in slow.socks)
        assert all(kept.sock is not None and still_open(kept.sock) for kept in idle)
        assert max(probes) < 1.0, probes
        assert status == 200 and body["total"] > 0 and searched_s < TIME_LIMIT_S
        answers = [answer_of(sock) for sock in slow.socks]
        assert {status for status, _ in answers} == {408}
        assert {json.loads(body)["error"]["code"] for _, body in answers} == {"request_timeout"}
    finally:
        if slow is not None:
            slow.close()
        for kept in idle:
            kept.close()
        server.stop()


def searches_in_progress(server: Server) -> float:
    """Searches the server's workers are answering now, read from their metrics files
    (a scrape would queue behind the searches it counts)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=server.env["PROMETHEUS_MULTIPROC_DIR"])
    return sum(
        sample.value
        for family in registry.collect()
        if family.name == "search_http_requests_in_progress"
        for sample in family.samples
        if sample.labels.get("route") == "/search"
    )


@pytest.mark.parametrize(
    ("received", "complete"),
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\n", False),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST /documents HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", False),
        (b"POST /documents HTTP/1.1\r\ncontent-length: 5\r\n\r\nabcde", True),
        (b"POST /documents HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", True),
        (b"GET /" + b"a" * 20000, True),  # too long: the parser's 414 answers it
    ],
)
def test_the_loop_hands_over_a_request_once_it_is_whole(received: bytes, complete: bool) -> None:
    assert request_complete(received, head_limit=16384) is complete


def test_a_worker_past_its_connections_answers_503_at_once(index_dir: Path) -> None:
    """The cap sheds load with a fast JSON error instead of a hang in the listen queue,
    and the worker serves again as soon as a connection goes."""
    # Held connections send nothing: the read timeout must not free them meanwhile.
    server = Server(index_dir, workers=1, SEARCH_MAX_CONNECTIONS="5",
                    SEARCH_REQUEST_READ_TIMEOUT_S="60")  # fmt: skip
    held: list[socket.socket] = []

    def full() -> bool:
        """Five connections held and a sixth refused. A held one the worker refused
        (the readiness probe's connection still counted when it came) is opened again."""
        for sock in [sock for sock in held if select.select([sock], [], [], 0)[0]]:
            held.remove(sock)
            sock.close()
        held.extend(socket.create_connection(("127.0.0.1", server.port))
                    for _ in range(5 - len(held)))  # fmt: skip
        refused = raw(server, b"GET /health HTTP/1.0\r\n\r\n")[0] == 503
        return refused and not select.select(held, [], [], 0)[0]

    try:
        wait_for(full, 10, "the cap")
        status, headers, body = raw(server, b"GET /health HTTP/1.0\r\n\r\n", timeout=2.0)
        assert assert_json_error(status, headers, body, expected=503) == "overloaded"
        held.pop().close()
        wait_for(lambda: raw(server, b"GET /health HTTP/1.0\r\n\r\n")[0] == 200, 10, "a slot")
    finally:
        for sock in held:
            sock.close()
        server.stop()


def random_words(count: int, length: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(string.ascii_lowercase, k=length)) for _ in range(count)]


# Words each expanded to many: heavy on both engines (about the time limit) are the
# infix wildcards; the fuzzy ones take 40-900 ms, as the engine expands them.
INFIXES = " ".join(f"*{word}*" for word in random_words(160, 3, 2))


@pytest.mark.parametrize(
    "q",
    [
        " ".join(f"{word}~2" for word in random_words(90, 8, 1)),
        INFIXES,
        " OR ".join(f"{word}~2" for word in random_words(90, 8, 3))[:4000],
    ],
    ids=["90-fuzzy-2", "160-infix-wildcards", "fuzzy-or"],
)
def test_expanding_queries_end_within_the_limit(served: Server, q: str) -> None:
    outcomes = _searched_twice_at_once(served, q, lambda: None)
    for status, seconds, _, body in outcomes:
        assert seconds < 2 * TIME_LIMIT_S, seconds
        assert status == 200 or (status == 503 and body["error"]["code"] == "search_timeout"), body  # type: ignore[index]


def test_health_answers_while_heavy_searches_run(served: Server) -> None:
    probes: list[float] = []
    probed: list[float] = []

    def probe() -> None:
        probes.extend(health_seconds(served) for _ in range(3))
        probed.append(time.monotonic())

    outcomes = _searched_twice_at_once(served, INFIXES, probe)
    assert max(probes) < 1.0, probes
    for _, _, ended, _ in outcomes:
        assert ended > probed[0], "the probes must run while the heavy searches do"


def _searched_twice_at_once(
    server: Server, q: str, meanwhile: Callable[[], None]
) -> list[tuple[int, float, float, dict[str, object]]]:
    """Two searches of ``q`` at once, ``meanwhile`` called once both run: each
    one's status, seconds, end (monotonic) and body."""
    outcomes: list[tuple[int, float, float, dict[str, object]]] = []

    def heavy() -> None:
        started = time.monotonic()
        status, body = server.get("/search", {"q": q})
        outcomes.append((status, time.monotonic() - started, time.monotonic(), body))

    searches = [threading.Thread(target=heavy) for _ in range(2)]
    for search in searches:
        search.start()
    wait_for(lambda: len(outcomes) == 2 or searches_in_progress(server) >= 2, TIME_LIMIT_S,
             "both searches to run")  # fmt: skip
    meanwhile()
    for search in searches:
        search.join(timeout=4 * TIME_LIMIT_S)
    assert len(outcomes) == 2
    return outcomes


def test_metrics_answer_at_once_while_the_worker_runs_a_long_search(
    politics_index: Path, tmp_path: Path
) -> None:
    """A scrape does not wait for the one worker's long search (nor get a 503 when
    the search outlasts the time limit): the index gauges keep their last values."""
    server = Server(politics_index, workers=1, PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
                    SEARCH_TIME_LIMIT_S=str(TIME_LIMIT_S))  # fmt: skip
    ended: list[float] = []
    try:
        assert server.get_text("/metrics")  # the gauges' first values
        search = threading.Thread(
            target=lambda: (server.get("/search", {"q": INFIXES}), ended.append(time.monotonic()))
        )
        search.start()
        wait_for(lambda: searches_in_progress(server) >= 1, TIME_LIMIT_S, "the search to run")
        status, headers, body = raw(server, b"GET /metrics HTTP/1.0\r\n\r\n")
        answered = time.monotonic()
        search.join(timeout=4 * TIME_LIMIT_S)
    finally:
        server.stop()
    assert status == 200 and b"search_index_documents" in body, body[:300]
    assert ended and ended[0] > answered, "the scrape must be answered while the search runs"


def test_a_pasted_paragraph_with_match_any_is_answered_within_the_limit(
    served: Server,
) -> None:
    """An app sends a whole paragraph ("find coverage related to this text")."""
    words = [(BBC / "politics" / name).read_text(encoding="latin-1").split()
             for name in ("001.txt", "002.txt")]  # fmt: skip
    paragraph = " ".join(words[0] + words[1])[:3000]
    assert len(paragraph) == 3000
    started = time.monotonic()
    status, body = served.get("/search", {"q": paragraph, "match": "any"})
    assert time.monotonic() - started < TIME_LIMIT_S
    assert status == 200, body
    assert body["hits"][0]["id"] == "001"
    status, body = served.get("/search", {"q": paragraph, "match": "some"})
    assert status == 400 and body["error"]["code"] == "invalid_parameter"

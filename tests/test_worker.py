"""The served process under hostile clients: slow senders, oversized and broken
requests, queries that expand without end. A real gunicorn, raw sockets."""

from __future__ import annotations

import json
import random
import socket
import string
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.worker import error_response
from tests.conftest import BBC, Server, get_json

TIME_LIMIT_S = 2.0


@pytest.fixture(scope="module")
def served(politics_index: Path) -> Iterator[Server]:
    running = Server(
        politics_index,
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


def test_slow_clients_cannot_stop_the_service(served: Server) -> None:
    """Four clients each sending a header line every 2 s (slowloris) hold threads,
    never the processes: /health stays prompt, and each slow client is cut off
    with a JSON 408 once its request has taken longer than the read timeout."""
    answers: list[tuple[int, str]] = []

    def slow_client() -> None:
        with socket.create_connection(("127.0.0.1", served.port), timeout=15) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            data = b""
            try:
                for n in range(10):
                    sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
                    time.sleep(2.0)  # the attack's own pace, bounded to 20 s
            except OSError:
                pass
            while chunk := sock.recv(65536):
                data += chunk
        status = int(data.split()[1]) if data else 0
        answers.append((status, data.partition(b"\r\n\r\n")[2].decode()))

    clients = [threading.Thread(target=slow_client) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        time.sleep(0.5)  # let them connect and start dribbling
        probes = [health_seconds(served) for _ in range(6)]
    finally:
        for client in clients:
            client.join(timeout=30)
    assert max(probes) < 1.0, probes
    assert len(answers) == 4
    for status, body in answers:
        assert status == 408
        assert json.loads(body)["error"]["code"] == "request_timeout"


def random_words(count: int, length: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(string.ascii_lowercase, k=length)) for _ in range(count)]


@pytest.mark.parametrize(
    "q",
    [
        " ".join(f"{word}~2" for word in random_words(90, 8, 1)),
        " ".join(f"*{word}*" for word in random_words(160, 3, 2)),
        " OR ".join(f"{word}~2" for word in random_words(90, 8, 3))[:4000],
    ],
    ids=["90-fuzzy-2", "160-infix-wildcards", "fuzzy-or"],
)
def test_expanding_queries_end_within_the_limit_while_health_answers(
    served: Server, q: str
) -> None:
    outcomes: list[tuple[int, float, dict[str, object]]] = []

    def heavy() -> None:
        started = time.monotonic()
        status, body = served.get("/search", {"q": q})
        outcomes.append((status, time.monotonic() - started, body))

    searches = [threading.Thread(target=heavy) for _ in range(2)]
    for search in searches:
        search.start()
    time.sleep(0.2)
    probes = [health_seconds(served) for _ in range(3)]
    for search in searches:
        search.join(timeout=4 * TIME_LIMIT_S)
    assert max(probes) < 1.0, probes
    assert len(outcomes) == 2
    for status, seconds, body in outcomes:
        assert seconds < 2 * TIME_LIMIT_S, seconds
        assert status == 200 or (status == 503 and body["error"]["code"] == "search_timeout"), body  # type: ignore[index]


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

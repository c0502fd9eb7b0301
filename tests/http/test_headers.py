"""Headers browsers and caches act on, from a real gunicorn on each engine: CORS for
the listed origins only, nosniff everywhere, the page's policy, ETag and 304."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServedCopy, Server, wait_for

ALLOWED = "https://news.example.org"


@pytest.fixture(scope="module")
def served(index_dir: Path) -> Iterator[Server]:
    running = Server(index_dir, SEARCH_CORS_ORIGINS=f"{ALLOWED}, https://other.example.org")
    yield running
    running.stop()


def call(
    server: Server, path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str]]:
    """Status and headers (lower-cased names) of one request, errors included."""
    request = urllib.request.Request(server.url + path, method=method)
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}


def test_a_listed_origin_may_call_and_preflight(served: Server) -> None:
    status, headers = call(served, "/search?q=paris", Origin=ALLOWED)
    assert status == 200
    assert headers["access-control-allow-origin"] == ALLOWED
    assert "etag" in headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in headers
    assert "origin" in headers["vary"].lower()
    status, headers = call(
        served, "/search", method="OPTIONS", Origin=ALLOWED,
        Access_Control_Request_Method="GET",
        Access_Control_Request_Headers="Authorization, Content-Type",
    )  # fmt: skip
    assert status == 200
    assert headers["access-control-allow-origin"] == ALLOWED
    assert "GET" in headers["access-control-allow-methods"]
    assert "authorization" in headers["access-control-allow-headers"].lower()


def test_another_origin_gets_no_cors_headers(served: Server) -> None:
    for method, extra in (("GET", {}), ("OPTIONS", {"Access_Control_Request_Method": "GET"})):
        _, headers = call(served, "/search?q=paris", method, Origin="https://evil.example", **extra)
        assert not [name for name in headers if name.startswith("access-control-")]
        # A cache must not give this answer to a listed origin, nor the other way round.
        assert "origin" in headers["vary"].lower()


def test_without_origins_listed_no_origin_may_call(server: Server) -> None:
    _, headers = call(server, "/search?q=paris", Origin=ALLOWED)
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize("path", ["/search?q=paris", "/health", "/", "/nowhere", "/openapi.json"])
def test_every_answer_says_nosniff(served: Server, path: str) -> None:
    assert call(served, path)[1]["x-content-type-options"] == "nosniff"


def test_the_page_allows_only_its_own_style_and_script_and_no_framing(served: Server) -> None:
    _, headers = call(served, "/?q=paris")
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "style-src 'sha256-" in policy
    assert re.search(r"script-src 'sha256-[^' ]+'; connect-src 'self';", policy)
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in call(served, "/search?q=paris")[1]


def test_an_unchanged_answer_is_a_304_until_a_reindex(served_copy: ServedCopy) -> None:
    corpus, indexer, server = served_copy.corpus, served_copy.indexer, served_copy.server
    pairs = [("/search?q=paris&facets=people", "/search?q=budget&facets=people"),
             ("/documents/wire-election", "/documents/wire-budget")]  # fmt: skip
    for path, other in pairs:
        status, headers = call(server, path)
        tag = headers["etag"]
        assert status == 200 and tag.startswith('W/"')
        assert call(server, path, If_None_Match=tag)[0] == 304
        assert call(server, other, If_None_Match=tag)[0] == 200
    search = "/search?q=paris&facets=people"
    tag = call(server, search)[1]["etag"]
    (corpus / "more.jsonl").write_text('{"id": "paris-new", "body": "Paris again."}\n')
    indexer.reindex([corpus])

    # Each worker sees the new commit within its refresh interval: then every
    # answer has a new tag, and the old one gets the whole answer again.
    def renewed() -> bool:
        answers = [call(server, search, If_None_Match=tag) for _ in range(10)]
        return all(status == 200 and h["etag"] != tag for status, h in answers)

    wait_for(renewed, 10, "every worker to give the search a new ETag")

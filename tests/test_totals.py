"""``total`` is the exact number of matches, whatever page, sort or facets are asked for.

Over the 417 BBC politics articles, in-process and through a real gunicorn: Whoosh's
top-N collector stops counting matches it prunes, so these failed before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore
from tests.conftest import Server

QUERIES = ["blair", "tony blair", "war OR peace", "labour", "election OR vote", "brown"]
Search = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def in_process(politics_index: Path) -> Iterator[Search]:
    service = SearchService(LocalStore(politics_index), cache_size=0)

    def run(**params: Any) -> dict[str, Any]:
        request = parse_request({k: str(v) for k, v in params.items()})
        return service.search(request).as_dict()

    yield run
    service.close()


@pytest.fixture(scope="module")
def over_http(politics_index: Path) -> Iterator[Search]:
    server = Server(politics_index)

    def run(**params: Any) -> dict[str, Any]:
        status, body = server.get("/search", params)
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    yield run
    server.stop()


@pytest.fixture(params=["in_process", "over_http"])
def search(request: pytest.FixtureRequest, engine: str) -> Search:
    """Each way in, for each engine (``engine`` parametrizes the index under both)."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("collapse", ["false", "true"])
def test_total_is_the_same_whatever_is_asked(search: Search, q: str, collapse: str) -> None:
    totals = {
        search(q=q, collapse=collapse, **extra)["total"]
        for extra in (
            {"per_page": 1},
            {"per_page": 10},
            {"per_page": 100},
            {"sort": "date"},
            {"sort": "-date"},
            {"facets": "people,month"},
        )
    }
    assert len(totals) == 1, totals


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("collapse", ["false", "true"])
def test_paging_to_the_end_yields_exactly_total(search: Search, q: str, collapse: str) -> None:
    first = search(q=q, collapse=collapse, per_page=20)
    seen: list[str] = []
    page = 1
    while True:
        hits = search(q=q, collapse=collapse, per_page=20, page=page)["hits"]
        if not hits:
            break
        seen += [hit["id"] for hit in hits]
        page += 1
    assert len(seen) == len(set(seen)) == first["total"] > 0


@pytest.mark.parametrize(
    ("word", "other"), [("blair", "brown"), ("election", "labour"), ("war", "peace")]
)
def test_a_word_alone_matches_at_least_that_word_and_another(
    search: Search, word: str, other: str
) -> None:
    alone = search(q=word, per_page=1)["total"]
    both = search(q=f"{word} {other}", per_page=1)["total"]
    either = search(q=f"{word} OR {other}", per_page=1)["total"]
    assert both <= alone <= either
    assert alone + search(q=other, per_page=1)["total"] - both == either


@pytest.mark.parametrize("q", QUERIES)
def test_no_facet_count_exceeds_total(search: Search, q: str) -> None:
    body = search(q=q, facets="people,month,year")
    assert body["facets"]["people"]
    for values in body["facets"].values():
        assert all(item["count"] <= body["total"] for item in values)

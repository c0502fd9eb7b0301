"""Cursor paging (``search.cursors``) while the index changes under the walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.errors import InvalidParameter
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.model import Article
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore
from tests.conftest import make_corpus


def pushed(n: int, date: str | None) -> tuple[Article, bytes]:
    return Article(id=f"pushed/{n}", title=f"Pushed {n}", body="News of the day.", date=date), b""


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_a_walk_in_date_order_sees_every_article_once_while_articles_come_and_go(
    tmp_path: Path, finder: PersonFinder, engine: str, sort: str
) -> None:
    """Between pages, articles are added newest, oldest and undated (so before and
    after where the walk stands), once 120 at a time before it, one it has not
    reached is deleted, and so is the last one it returned: each article there when
    it began comes once, the deleted one never, and nothing twice."""
    store = LocalStore(tmp_path / "index")
    Indexer(store, finder, engine=engine).reindex([make_corpus(tmp_path / "corpus")])
    service = SearchService(store, refresh_interval_s=0)
    params = {"sort": sort, "per_page": "2"}
    body = service.search(parse_request(params))
    there = {hit.id for hit in service.search(parse_request({**params, "per_page": "100"})).hits}
    seen = [hit.id for hit in body.hits]
    ahead = service.search(parse_request({**params, "per_page": "100"})).hits[-1].id
    store.apply([ahead], [])
    page = 0
    while body.next_cursor is not None:
        page += 1
        assert page < 100, "the walk does not end"
        dates = ("2030-01-01", "1990-01-01", None)
        store.apply(
            [seen[-1]] if page == 3 else [], [pushed(page * 3 + n, dates[n]) for n in range(3)]
        )
        body = service.search(parse_request({**params, "cursor": body.next_cursor}))
        seen += [hit.id for hit in body.hits]
    service.close()
    assert len(seen) == len(set(seen))
    assert set(seen) - {ahead} >= there - {ahead} and ahead not in seen
    assert any(doc_id.startswith("pushed/") for doc_id in seen)  # those added after it


def test_a_cursor_that_is_not_one_is_refused() -> None:
    for token in ("", "x", "eyJ4IjogMX0", "bm90IGpzb24"):
        with pytest.raises(InvalidParameter, match="cursor"):
            parse_request({"cursor": token})

"""The searcher over indexes of several segments, as incremental reindexes leave them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from search.indexer import Indexer
from search.people import PersonFinder
from search.query import SearchRequest
from search.searcher import SearchService
from search.store import IndexStore
from tests.conftest import BBC


def test_facets_count_right_across_segments_with_and_without_dates(
    tmp_path: Path, finder: PersonFinder
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "bbc").mkdir(parents=True)
    for name in ("001.txt", "002.txt"):
        shutil.copy(BBC / "politics" / name, corpus / "bbc" / name)
    store = IndexStore(tmp_path / "index")
    indexer = Indexer(store, finder)
    indexer.reindex([corpus])  # first segment: undated articles, no month column
    records = [
        {"id": f"wire-{n}", "title": f"Budget vote {n}", "date": date, "people": ["Rachel Reeves"],
         "body": "Parliament holds a budget vote as Labour plans its election campaign."}
        for n, date in enumerate(["2025-03-12", "2025-03-20", "2025-04-01"])
    ]  # fmt: skip
    (corpus / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    indexer.reindex([corpus])  # second segment, dated
    service = SearchService(store, cache_size=0)
    try:
        assert len(service._current().searcher.reader().leaf_readers()) == 2
        results = service.search(SearchRequest(facets=("month", "year", "people")))
    finally:
        service.close()
    assert results.total == 5
    assert results.facets["month"] == [
        {"value": "2025-03", "count": 2},
        {"value": "2025-04", "count": 1},
    ]
    assert results.facets["year"] == [{"value": "2025", "count": 3}]
    assert {"value": "Rachel Reeves", "count": 3} in results.facets["people"]


def test_similar_reads_one_generation_even_when_a_new_one_is_published(
    tmp_path: Path, corpus: Path, finder: PersonFinder
) -> None:
    """A rebuild published between reading the article and finding its neighbours
    must not change the generation under one ``similar()`` call."""
    source = tmp_path / "corpus"
    shutil.copytree(corpus, source)
    store = IndexStore(tmp_path / "index")
    indexer = Indexer(store, finder)
    indexer.reindex([source])
    service = SearchService(store, refresh_interval_s=0.0, cache_size=0)
    looked = service._current

    def current_then_rebuild() -> object:
        view = looked()
        if not rebuilt:
            rebuilt.append(True)
            (source / "bbc" / "politics" / "001.txt").unlink()
            indexer.reindex([source], full=True)
        return view

    rebuilt: list[bool] = []
    service._current = current_then_rebuild  # type: ignore[method-assign]
    try:
        results = service.similar("bbc/politics/001")
    finally:
        service.close()
    assert rebuilt and results.hits

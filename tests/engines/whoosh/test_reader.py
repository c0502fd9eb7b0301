"""The Whoosh reader over indexes of several segments, as incremental reindexes leave them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from search.engines.whoosh.reader import WhooshReader
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.model import SearchRequest
from search.service import SearchService
from search.stores.local import LocalStore
from tests.conftest import BBC


def test_facets_count_right_across_segments_with_and_without_dates(
    tmp_path: Path, finder: PersonFinder
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "bbc").mkdir(parents=True)
    for name in ("001.txt", "002.txt"):
        shutil.copy(BBC / "politics" / name, corpus / "bbc" / name)
    store = LocalStore(tmp_path / "index")
    indexer = Indexer(store, finder)
    indexer.reindex([corpus])  # first segments: undated articles (then their people)
    records = [
        {"id": f"wire-{n}", "title": f"Budget vote {n}", "date": date, "people": ["Rachel Reeves"],
         "body": "Parliament holds a budget vote as Labour plans its election campaign."}
        for n, date in enumerate(["2025-03-12", "2025-03-20", "2025-04-01"])
    ]  # fmt: skip
    (corpus / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    indexer.reindex([corpus])  # second segment, dated
    service = SearchService(store, cache_size=0)
    try:
        reader = service._current().reader
        assert isinstance(reader, WhooshReader)
        assert len(reader.searcher.reader().leaf_readers()) >= 2
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

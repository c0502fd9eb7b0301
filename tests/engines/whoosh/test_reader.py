"""The Whoosh reader over indexes of several segments, as incremental reindexes leave them."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index

from search.deadline import Deadline
from search.engines.whoosh.reader import WhooshReader
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.model import Article, EngineQuery, SearchRequest
from search.query import language as ql
from search.service import SearchService, engine_query
from search.stores.local import LocalStore
from tests.conftest import BBC, index_of_records


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


def test_a_refresh_that_races_a_merge_leaves_a_whole_reader(
    tmp_path: Path, corpus: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge can remove a segment between a refresh's reading of the TOC and its
    opening the segment (Whoosh then reads the TOC again). Whoosh's own refresh
    closed the segments it was reusing on the way, and the reader it gave back
    failed every search after ("Reader already closed", under 50 pushes a second)."""
    store = LocalStore(tmp_path / "index")
    Indexer(store, finder, engine="whoosh").reindex([corpus])
    reader = WhooshReader.open(tmp_path / "index" / str(store.current_name()))
    store.apply([], [(Article(id="pushed/1", title="Wombats", body="Wombats in Paris."), b"")])
    index_class, read_toc = type(reader.index), type(reader.index)._read_toc
    raced = []

    def toc_naming_a_merged_segment(index: Any) -> Any:
        info = read_toc(index)
        if not raced:  # the first reading names a segment a merge has just removed
            gone = copy.copy(info.segments[0])
            gone.segid = "merged0away0"
            info.segments = [gone, *info.segments]
            raced.append(True)
        return info

    monkeypatch.setattr(index_class, "_read_toc", toc_naming_a_merged_segment)
    fresh = reader.refreshed()
    assert raced
    request = SearchRequest(q="wombats")
    assert fresh.search(engine_query(request), Deadline.after(10)).total == 1
    assert fresh.document("pushed/1") is not None
    assert len(fresh.stored_docs()) == 18
    fresh.close()


def test_a_refresh_opens_whole_when_a_commit_removes_the_toc_it_read(
    tmp_path: Path, corpus: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit removes the older TOC as it lands. Once a refresh has opened its
    segments it reads no TOC again: reading the schema from the index once more
    (Whoosh lists the TOCs, then opens the newest) failed when a commit landed in
    between, one refresh in some 150 under one-article commits: a 500 in the
    middle of a date walk while articles were pushed."""
    store = LocalStore(tmp_path / "index")
    Indexer(store, finder, engine="whoosh").reindex([corpus])
    reader = WhooshReader.open(tmp_path / "index" / str(store.current_name()))
    store.apply([], [(Article(id="pushed/1", title="Wombats", body="Wombats in Paris."), b"")])
    index_class = type(reader.index)
    open_reader, read_toc = index_class.reader, index_class._read_toc
    opened = []

    def reader_then_a_commit(index: Any, *args: Any, **kwargs: Any) -> Any:
        opened_reader = open_reader(index, *args, **kwargs)
        opened.append(True)
        return opened_reader

    def toc_removed_after_opening(index: Any) -> Any:
        if opened:
            raise FileNotFoundError(2, "No such file or directory", "_MAIN_9.toc")
        return read_toc(index)

    monkeypatch.setattr(index_class, "reader", reader_then_a_commit)
    monkeypatch.setattr(index_class, "_read_toc", toc_removed_after_opening)
    fresh = reader.refreshed()
    assert opened
    request = SearchRequest(q="wombats")
    assert fresh.search(engine_query(request), Deadline.after(10)).total == 1
    fresh.close()


def test_an_index_opens_when_a_commit_removes_the_toc_it_found(
    tmp_path: Path, corpus: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening an index reads its newest TOC, which a commit landing between Whoosh's
    listing and its opening removes (a worker's first search beside a busy writer):
    the next look finds the newer one."""
    store = LocalStore(tmp_path / "index")
    Indexer(store, finder, engine="whoosh").reindex([corpus])
    read, removed = whoosh_index.TOC.read, []

    def removed_once(*args: Any, **kwargs: Any) -> Any:
        if not removed:
            removed.append(True)
            raise FileNotFoundError(2, "No such file or directory", "_MAIN_9.toc")
        return read(*args, **kwargs)

    monkeypatch.setattr(whoosh_index.TOC, "read", removed_once)
    reader = WhooshReader.open(tmp_path / "index" / str(store.current_name()))
    assert removed
    assert reader.doc_count() == 17
    reader.close()


def test_pages_past_the_first_are_cut_from_one_order_found_once_a_snapshot(
    tmp_path: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoosh has no search-after: a walk's later pages come from every match put
    in order once for the snapshot, the same pages a search of each would give."""
    records = [
        {"id": f"wire-{n:02d}", "title": f"Harbour report {n % 7}", "people": [f"Ann Lee{n % 3}"],
         "body": f"The harbour {'storm ' * (n % 5)}report {n}.", "date": f"2025-03-{n % 28 + 1:02d}"}
        for n in range(40)
    ]  # fmt: skip
    store = index_of_records(tmp_path, records, "whoosh", finder)
    path = store.root / str(store.current_name())
    reader = WhooshReader.open(path)
    searches = []
    monkeypatch.setattr(
        reader.searcher, "search_with_collector",
        lambda *args: searches.append(1) or type(reader.searcher).search_with_collector(
            reader.searcher, *args),
    )  # fmt: skip
    deadline = Deadline.after(10)
    for newest_first in (None, True, False):
        query = EngineQuery(tree=ql.parse("harbour"), newest_first=newest_first,
                            facets=("people",), limit=40)  # fmt: skip
        whole = WhooshReader.open(path).search(query, deadline)
        pages = [reader.search(replace(query, offset=offset, limit=7), deadline)
                 for offset in range(7, 40, 7)]  # fmt: skip
        first = reader.search(replace(query, limit=7), deadline)
        walked = [hit for page in [first, *pages] for hit in page.hits]
        assert walked == whole.hits and whole.total == 40
        assert all((page.total, page.facets) == (whole.total, whole.facets) for page in pages)
    assert len(searches) == 3 * 2  # each order once for its pages, and the first page

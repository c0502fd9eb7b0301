"""The engine-neutral search service: one snapshot per call, whatever is published."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.ingest.pushes import PushLog, check
from search.model import And, EngineQuery, Or, Word
from search.query.params import parse_request
from search.service import SearchService, engine_query
from search.stores.local import LocalStore
from tests.conftest import make_corpus

WORDS = And((Word("brexit"), Word("vote")))
# Commits made while /stats is asked again and again (each made a few files go).
COMMITS_UNDER_STATS = 60


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, EngineQuery(newest_first=True)),
        ({"q": "brexit vote"}, EngineQuery(WORDS)),
        ({"q": "brexit vote", "page": "3", "per_page": "20"}, EngineQuery(WORDS, offset=40, limit=20)),
        ({"q": "brexit vote", "sort": "-date"}, EngineQuery(WORDS, newest_first=False)),
        ({"q": "brexit vote", "match": "any"}, EngineQuery(Or(WORDS.parts), feedback=True)),
        ({"q": "brexit OR vote"}, EngineQuery(Or(WORDS.parts), feedback=True)),
        ({"people": "Keir Starmer", "from": "2026-01-01", "facets": "people", "collapse": "true"},
         EngineQuery(people=("Keir Starmer",), date_from="2026-01-01", newest_first=True,
                     facets=("people",), collapse=True)),
    ],
)  # fmt: skip
def test_a_request_becomes_the_query_every_engine_matches(
    params: dict[str, str], expected: EngineQuery
) -> None:
    """Paging, order and the tree are decided above the seam, once for every engine."""
    assert engine_query(parse_request(params)) == expected


def test_similar_reads_one_generation_even_when_a_new_one_is_published(
    tmp_path: Path, corpus: Path, finder: PersonFinder
) -> None:
    """A rebuild published between reading the article and finding its neighbours
    must not change the generation under one ``similar()`` call."""
    source = tmp_path / "corpus"
    shutil.copytree(corpus, source)
    store = LocalStore(tmp_path / "index")
    indexer = Indexer(store, finder)
    indexer.reindex([source])
    service = SearchService(store, refresh_interval_s=0.0, cache_size=0)
    looked = service._current

    def current_then_rebuild(checked: bool = False) -> object:
        view = looked(checked)
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


def test_a_dotted_capital_i_is_an_i_in_search_and_highlights(
    tmp_path: Path, finder: PersonFinder, engine: str
) -> None:
    """ "İstanbul" as written, typed or shouted is one word; ``str.lower`` made it "i"
    and "stanbul", which found every article with an "I"."""
    source = tmp_path / "wire.jsonl"
    records = [
        {"id": "flights", "title": "Flights", "body": "Flights to İstanbul were late."},
        {"id": "rain", "title": "Rain", "body": "Rain fell on Istanbul and Ankara."},
        {"id": "opinion", "title": "Opinion", "body": "I think I can say what I like."},
    ]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    store = LocalStore(tmp_path / "index")
    Indexer(store, finder, engine=engine).reindex([source])
    service = SearchService(store, cache_size=0)
    try:
        for q in ("İstanbul", "istanbul", "ISTANBUL"):
            results = service.search(parse_request({"q": q}))
            assert sorted(hit.id for hit in results.hits) == ["flights", "rain"], q
            marked = {hit.id: "".join(hit.highlights["body"]) for hit in results.hits}
            assert "<mark>İstanbul</mark>" in marked["flights"]
            assert "<mark>Istanbul</mark>" in marked["rain"]
    finally:
        service.close()


def test_stats_answer_while_the_writer_commits(
    tmp_path: Path, finder: PersonFinder, engine: str
) -> None:
    """A commit renames and removes files as ``/stats`` sizes and dates the index (a
    Whoosh merge's old segments and TOC, Xapian's ``v.tmp``): on Whoosh one look in
    a few hundred failed, a 500 from ``/stats`` under a steady push."""
    store = LocalStore(tmp_path / "index")
    pushes = PushLog(store.root)
    indexer = Indexer(store, finder, engine=engine, pushes=pushes)
    indexer.reindex([make_corpus(tmp_path / "corpus")])
    service = SearchService(store, refresh_interval_s=0.0, cache_size=0)
    stop, commits = threading.Event(), []

    def push_one_at_a_time() -> None:
        while not stop.is_set() and len(commits) < COMMITS_UNDER_STATS:
            record = {"id": f"p/{len(commits)}", "title": "Fares", "body": "Ferry fares rose."}
            pushes.write([check({**record, "people": []})])
            indexer.apply_pushes(1)
            commits.append(service.stats()["commit"])

    writer = threading.Thread(target=push_one_at_a_time)
    writer.start()
    looks = 0
    try:
        while writer.is_alive():
            facts = service.stats()
            assert facts["size_bytes"] > 0 and facts["built_at"]
            looks += 1
    finally:
        stop.set()
        writer.join()
        service.close()
    assert len(commits) == COMMITS_UNDER_STATS and len(set(commits)) > 1 and looks > 100


def test_existing_is_the_ids_the_served_index_holds(
    tmp_path: Path, finder: PersonFinder, engine: str
) -> None:
    """What a push answers "updated" or "created" by: ids the served index holds, not
    one deleted since, nor one longer than an index term may be."""
    store = LocalStore(tmp_path / "index")
    pushes = PushLog(store.root)
    indexer = Indexer(store, finder, engine=engine, pushes=pushes)
    indexer.reindex([make_corpus(tmp_path / "corpus")])
    service = SearchService(store, refresh_interval_s=0.0, cache_size=0)
    try:
        ids = [hit.id for hit in service.search(parse_request({"q": ""})).hits[:2]]
        assert len(ids) == 2
        assert service.existing([*ids, "no-such-article", "x" * 300]) == set(ids)
        pushes.delete(ids[0])
        indexer.apply_pushes(10)
        assert service.existing(ids) == {ids[1]}
        assert service.existing([]) == set()
    finally:
        service.close()

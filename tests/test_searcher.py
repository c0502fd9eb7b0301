"""The engine-neutral search service: one snapshot per call, whatever is published."""

from __future__ import annotations

import shutil
from pathlib import Path

from search.indexer import Indexer
from search.people import PersonFinder
from search.searcher import SearchService
from search.store import IndexStore


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

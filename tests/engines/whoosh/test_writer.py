"""Whoosh indexes across versions: one built before the all-text field, or analysed
as before (without case folding), keeps serving, and the next reindex rebuilds it
in full. Incremental commits merge small segments under readers left open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter, StopFilter

from search.analysis import TOKEN_PATTERN
from search.deadline import Deadline
from search.engines.whoosh import schema, writer
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.model import Article
from search.query.params import parse_request
from search.service import SearchService, engine_query
from search.stores.local import LocalStore


def paris_total(store: LocalStore) -> int:
    service = SearchService(store, cache_size=0)
    try:
        return service.search(parse_request({"q": "Paris Declaration"})).total
    finally:
        service.close()


def test_an_index_from_before_the_all_text_field_serves_then_is_rebuilt(
    tmp_path: Path, corpus: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def old_schema() -> Any:
        built = schema.build_schema()
        built.remove("text")
        return built

    def old_fields(article: Any, minhash: bytes) -> dict[str, Any]:
        fields = schema.to_fields(article, minhash)
        del fields["text"]
        return fields

    store = LocalStore(tmp_path / "index")
    with monkeypatch.context() as patch:
        patch.setattr(writer, "build_schema", old_schema)
        patch.setattr(writer, "to_fields", old_fields)
        Indexer(store, finder).reindex([corpus])
    assert not store.current_format()
    assert paris_total(store) == 2  # served by the per-field parser meanwhile
    summary = Indexer(store, finder).reindex([corpus])
    assert summary.full and store.current_format()
    assert paris_total(store) == 2


def lower_cased() -> Any:
    """Whoosh's own lower-casing made "İ" an "i" and a combining dot."""
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | schema.PossessiveFilter()
        | StopFilter()
        | StemFilter(cachesize=-1)
    )


@pytest.mark.parametrize("analyzer", [lower_cased])
def test_an_index_analysed_as_before_serves_then_is_rebuilt(
    tmp_path: Path,
    corpus: Path,
    finder: PersonFinder,
    monkeypatch: pytest.MonkeyPatch,
    analyzer: Callable[[], Any],
) -> None:
    store = LocalStore(tmp_path / "index")
    with monkeypatch.context() as patch:
        patch.setattr(schema, "text_analyzer", analyzer)
        Indexer(store, finder).reindex([corpus])
    assert not store.current_format()
    assert paris_total(store) == 2
    summary = Indexer(store, finder).reindex([corpus])
    assert summary.full and store.current_format()
    assert paris_total(store) == 2


def test_incremental_commits_merge_small_segments_under_a_reader_left_open(
    tmp_path: Path, corpus: Path, finder: PersonFinder
) -> None:
    """A push a commit for a while: the segments stay few (a search visits each), and
    a reader opened before every merge still finds and reads what it found then."""
    store = LocalStore(tmp_path / "index")
    Indexer(store, finder, engine="whoosh").reindex([corpus])
    old = store.open_current()
    try:
        query = engine_query(parse_request({"q": "paris"}))
        found = old.reader.search(query, Deadline.after(10))
        stored = old.reader.stored_docs()
        for n in range(60):
            pushed = Article(id=f"pushed/{n}", title=f"Pushed {n}", body="Wombats seen in Paris.")
            store.apply([], [(pushed, b"")])
        path = tmp_path / "index" / str(store.current_name())
        assert len(whoosh_index.open_dir(str(path))._segments()) < 15
        again = old.reader.search(query, Deadline.after(10))
        assert again.total == found.total
        assert [hit.article for hit in again.hits] == [hit.article for hit in found.hits]
        assert old.reader.stored_docs() == stored
    finally:
        old.reader.close()
        old.close()
    service = SearchService(store, cache_size=0)
    try:
        assert service.search(parse_request({"q": "wombats"})).total == 60
        assert service.search(parse_request({"q": "paris"})).total == found.total + 60
    finally:
        service.close()

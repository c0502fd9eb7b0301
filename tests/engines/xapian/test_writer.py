"""Xapian indexes across versions: one written before people and the articles'
records had value slots keeps its people facet and its records, and the next
reindex rebuilds it in full."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import xapian

from search.engines.xapian import analysis, writer
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.model import StoredDoc
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore

FACETS = {"q": "Paris Declaration", "facets": "people,month"}


def facets(store: LocalStore) -> dict[str, Any]:
    service = SearchService(store, cache_size=0)
    try:
        return service.search(parse_request(FACETS)).facets
    finally:
        service.close()


def test_an_index_from_before_the_value_slots_serves_then_is_rebuilt(
    tmp_path: Path, corpus: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = LocalStore(tmp_path / "current")
    Indexer(current, finder, engine="xapian").reindex([corpus])
    expected = facets(current)
    assert expected["people"] and expected["month"]

    def old_document(article: Any, minhash: bytes) -> xapian.Document:
        doc = new_document(article, minhash)
        for slot in (analysis.PEOPLE_SLOT, analysis.STORED_SLOT):
            if doc.get_value(slot):
                doc.remove_value(slot)
        # The article's MinHash was in its data then.
        data = json.loads(doc.get_data())
        doc.set_data(json.dumps({**data, "minhash": base64.b64encode(minhash).decode()}))
        return doc

    new_document = writer.document
    store = LocalStore(tmp_path / "index")
    with monkeypatch.context() as patch:
        patch.setattr(writer, "document", old_document)
        patch.setattr(analysis, "FORMAT", 2)
        Indexer(store, finder, engine="xapian").reindex([corpus])
    assert not store.current_format()
    assert facets(store) == expected  # counted from the people table meanwhile
    assert _records(store) == _records(current)  # read document by document meanwhile
    summary = Indexer(store, finder).reindex([corpus])
    assert summary.full and store.current_format()
    assert facets(store) == expected


def _records(store: LocalStore) -> list[StoredDoc]:
    return sorted(store.stored_docs(), key=lambda doc: doc.id)

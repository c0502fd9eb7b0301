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

from search.deadline import Deadline
from search.engines.xapian import analysis, writer
from search.engines.xapian.reader import XapianReader
from search.errors import ReindexError
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.ingest.stories import signature
from search.model import Article, StoredDoc
from search.query.params import parse_request
from search.service import SearchService, engine_query
from search.stores.local import LocalStore
from tests.conftest import BBC

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

    def old_document(article: Any, minhash: bytes, *vocabulary: Any) -> xapian.Document:
        doc = new_document(article, minhash, *vocabulary)
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


def _politics() -> list[Any]:
    """The BBC politics articles as an engine takes them (no extraction, no NER)."""
    docs = []
    for path in sorted((BBC / "politics").glob("*.txt")):
        title, _, body = path.read_text(encoding="latin-1").strip().partition("\n")
        article = Article(id=path.stem, title=title, body=body.strip(), date="2005-01-01")
        docs.append((article, signature(article.body)))
    return docs


def test_a_document_holds_each_fields_positions_the_headline_and_the_spellings() -> None:
    """One pass over the words makes every term set: a field's stemmed terms at their
    positions (stop words skipped), a headline's words again, each occurrence weighted,
    and the body's words as written for suggestions; no term holds every
    field's words in one (a plain word is their synonym, ``parse.all_text``), and a
    title derived from the lead sentence is no headline."""
    article = Article(
        id="cafes", title="Café news", body="The minister's café reopened. Cafés reopen, 42 times."
    )
    doc = writer.document(article, signature(article.body))
    terms = {t.term.decode(): (t.wdf, list(t.positer)) for t in doc.termlist()}
    assert terms["XTcafe"] == (1, [1]) and terms["XTnews"] == (1, [2])
    assert terms["XBcafe"] == (2, [2, 4]) and terms["XBminist"] == (1, [1])
    assert terms["XB42"] == (1, [6]) and "XBthe" not in terms
    headline = (analysis.HEADLINE_WDF, [])
    assert terms["XHcafe"] == terms["XHnews"] == headline and "XHminist" not in terms
    assert not [term for term in terms if term[:1].islower() or term[:1].isdigit()]
    spellings = {term[2:] for term in terms if term.startswith(analysis.SPELLING)}
    assert spellings == {"minister", "café", "reopened", "cafés", "reopen", "times"}
    article.title_derived = True
    untitled = writer.document(article, signature(article.body))
    derived = {t.term.decode() for t in untitled.termlist()}
    assert "XTcafe" in derived and not [term for term in derived if term.startswith("XH")]


def test_a_build_in_parts_holds_what_a_build_in_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forked processes each fill a part, compacted into one database: the same
    articles, format and answers, in the same order, as one process's build."""
    docs = _politics()
    monkeypatch.setattr(writer, "PARALLEL_FROM", 100)
    for procs in (1, 3):
        writer.build(tmp_path / f"procs{procs}", docs, procs)
    assert not list(tmp_path.glob("*.part*"))  # the parts are gone
    one, parts = (XapianReader(tmp_path / f"procs{n}") for n in (1, 3))
    assert parts.doc_count() == one.doc_count() == len(docs) > 400
    assert writer.format_of(parts.db) == analysis.FORMAT
    for q in ("labour", '"prime minister"', "title:blair", "tax -budget", "elect*"):
        query = engine_query(parse_request({"q": q, "per_page": "100"}))
        hits = [[hit.article.id for hit in r.search(query, Deadline.after(10)).hits]
                for r in (one, parts)]  # fmt: skip
        assert hits[0] == hits[1] and hits[0], q


def test_a_build_counts_each_word_as_written_once_and_later_writes_add_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new database holds the words as written as one count a word, not a term in
    each document (a build in parts sums the parts' counts); a document written later
    carries its own terms, and suggestions count documents from both."""
    monkeypatch.setattr(writer, "PARALLEL_FROM", 2)
    bodies = ["A crate of apples.", "Another crate arrived.", "The crane lifted it.", "None."]
    docs = [(Article(id=f"a{n}", title=f"Dock {n}", body=body), signature(body))
            for n, body in enumerate(bodies)]  # fmt: skip
    path = tmp_path / "index"
    writer.build(path, docs, 2)  # "crate" in a document of each part
    reader = XapianReader(path)
    assert not list(reader.db.allterms(analysis.SPELLING))
    assert reader.db.get_metadata(analysis.SPELLING_KEY + "crate") == b"2"
    assert reader.spellings("crame", Deadline.after(10))[:2] == ["crate", "crane"]
    reader.close()
    body = "A crane again."
    writer.apply(
        path,
        [],
        [(Article(id=f"b{n}", title="Cranes", body=body), signature(body)) for n in range(2)],
    )
    reader = XapianReader(path)
    assert reader.db.get_termfreq(analysis.SPELLING + "crane") == 2
    assert reader.spellings("crame", Deadline.after(10))[:2] == ["crane", "crate"]  # 3 and 2
    reader.close()


def test_a_part_that_fails_fails_the_build_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = _politics()
    monkeypatch.setattr(writer, "PARALLEL_FROM", 100)
    monkeypatch.setattr(writer, "document", lambda *_: 1 / 0)  # in the forked children too
    with pytest.raises(ReindexError, match="part of the new index"):
        writer.build(tmp_path / "new", docs, 2)
    assert not list(tmp_path.glob("new*"))

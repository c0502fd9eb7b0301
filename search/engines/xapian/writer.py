"""Writing Xapian databases: a whole new one, or one atomic commit into the served one.

A document holds the article as JSON data, prefixed terms with positions for the
text fields, boolean terms for id, people, date, story and the body's words as
written (for suggestions), and value slots for sorting and facets. Xapian's
commit is atomic: a failed one leaves the last revision as it was, and the writer
is closed so its lock goes.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import xapian

from search import phases
from search.completions import completion_keys
from search.engines.xapian import analysis as a
from search.errors import ReindexError
from search.model import Article, IndexDoc, StoredDoc

COMMIT_EVERY = 5000
# Xapian takes terms of up to 245 bytes; a longer completion key is left out.
MAX_KEY_BYTES = 240


def document(article: Article, minhash: bytes) -> xapian.Document:
    """The Xapian document of an article.

    Each text field has its own prefixed terms (for ``title:``, ``body:``,
    ``people:``), and all of them also go, stemmed, into the unprefixed terms with
    the field's weight as the within-document frequency: BM25F's weighted sum of
    field frequencies, so a title word counts twice and one document length
    normalises all fields together. A title derived from the lead sentence is not
    a headline: its words are in the body already, and it adds none of its own.
    """
    doc = xapian.Document()
    position = 0
    for field in ("title", "body"):
        terms = a.text_terms(getattr(article, field))
        weighted = field != "title" or not article.title_derived
        for field_position, term in enumerate(terms, 1):
            doc.add_posting(a.PREFIXES[field] + term, field_position)
            if weighted:
                doc.add_posting(term, position + field_position, a.ALL_TEXT_WDF[field])
        position += len(terms) + a.FIELD_GAP
    people_position = 0
    for name in article.people:
        for word in a.name_terms(name):
            people_position += 1
            doc.add_posting(a.PREFIXES["people"] + word, people_position)
            if (form := a.analyzed(word)) is not None:
                doc.add_posting(form, position + people_position, a.ALL_TEXT_WDF["people"])
        people_position += 1  # no phrase across two people
        doc.add_term(a.PERSON + name)  # weighted: similar() ranks by shared people
    if article.people:
        doc.add_value(a.PEOPLE_SLOT, a.people_value(article.people))
    for word in a.spelling_words(article.body):
        doc.add_boolean_term(a.SPELLING + word)
    for kind, keys in completion_keys(article).items():
        for key in keys:
            if len(key.encode("utf-8")) < MAX_KEY_BYTES:
                doc.add_boolean_term(a.COMPLETE[kind] + key)
    doc.add_boolean_term(a.ID + article.id)
    doc.add_value(a.ID_SLOT, article.id)
    doc.add_value(a.DATE_ID_SLOT, f"{article.date or ''} {article.id}")
    doc.add_boolean_term(a.STORY + article.story_key)
    doc.add_value(a.STORY_SLOT, article.story_key)
    if article.date:
        doc.add_boolean_term(a.DATE + article.date)
        doc.add_value(a.DATE_SLOT, article.date)
        doc.add_value(a.MONTH_SLOT, article.date[:7])
        doc.add_value(a.YEAR_SLOT, article.date[:4])
    doc.set_data(json.dumps(_stored(article)))
    doc.add_value(a.STORED_SLOT, _stored_value(article, minhash))
    return doc


def _stored(article: Article) -> dict[str, Any]:
    """The document data: the article. Its MinHash is only in ``STORED_SLOT``, which
    is all that reads it (an index before format 4 kept it here)."""
    return {
        **article.public(),
        "story": article.story_key,
        "path": article.path,
        "content_hash": article.content_hash,
        "title_derived": article.title_derived,
    }


def _stored_value(article: Article, minhash: bytes) -> str:
    """The value of ``STORED_SLOT``: what ``stored_doc_of`` reads back."""
    encoded = base64.b64encode(minhash).decode("ascii")
    return json.dumps([article.id, article.path, article.content_hash, article.story_key, encoded])


def stored_doc_of(value: bytes) -> StoredDoc:
    doc_id, path, content_hash, story, minhash = json.loads(value)
    return StoredDoc(doc_id, path, content_hash, story, base64.b64decode(minhash))


def article_of(data: bytes | str) -> IndexDoc:
    stored = orjson.loads(data)  # every hit shown: 4.4 us an article, against 9.6 for json
    minhash = base64.b64decode(stored.pop("minhash", ""))
    return Article(**stored), minhash


def build(path: Path, articles: Iterable[IndexDoc]) -> None:
    """Fill a new database in ``path``, then check its count and a canary query."""
    db = xapian.WritableDatabase(str(path), xapian.DB_CREATE)
    expected = 0
    canary: str | None = None
    try:
        for article, minhash in articles:
            # A new database: each id is new (the indexer keeps ids distinct), so no
            # lookup of an id to replace, which took a third of a build.
            db.add_document(document(article, minhash))
            expected += 1
            canary = canary or next(iter(a.text_terms(article.title)), None)
            if expected % COMMIT_EVERY == 0:
                db.commit()
        db.set_metadata(a.FORMAT_KEY, str(a.FORMAT))
        phases.reached("committing")
        db.commit()
    finally:
        db.close()
    _check(path, expected, canary)


def apply(path: Path, delete_ids: Iterable[str], articles: Iterable[IndexDoc]) -> None:
    db = xapian.WritableDatabase(str(path), xapian.DB_OPEN)
    try:
        transaction(db, delete_ids, articles)
    finally:
        db.close()


def transaction(
    db: xapian.WritableDatabase,
    delete_ids: Iterable[str],
    articles: Iterable[IndexDoc],
    metadata: dict[str, str] | None = None,
    run: int | None = None,
) -> None:
    """Deletions, additions (or replacements) and metadata in one transaction on a
    local or remote database: either all of them are committed, or none. A cluster's
    ``run`` number is stamped on each document written (``RUN_SLOT``)."""
    try:
        db.begin_transaction()
        for doc_id in delete_ids:
            db.delete_document(a.ID + doc_id)
        for article, minhash in articles:
            doc = document(article, minhash)
            if run is not None:
                doc.add_value(a.RUN_SLOT, xapian.sortable_serialise(run))
            db.replace_document(a.ID + article.id, doc)
        for key, value in (metadata or {}).items():
            db.set_metadata(key, value)
        phases.reached("committing")
        db.commit_transaction()
    except BaseException:
        with contextlib.suppress(xapian.Error):
            db.cancel_transaction()
        raise


def _check(path: Path, expected: int, canary: str | None) -> None:
    try:
        db = xapian.Database(str(path))
        count = db.get_doccount()
        hit = canary is None or db.get_termfreq(a.PREFIXES["title"] + canary) > 0
        db.close()
    except xapian.Error as exc:
        raise ReindexError(f"new index generation cannot be opened: {exc}") from exc
    if count != expected or not hit:
        raise ReindexError(
            f"new index generation failed its check ({count} of {expected} documents, "
            f"canary term {'found' if hit else 'missed'}); the served index is unchanged"
        )


def is_current_format(path: Path) -> bool:
    db = xapian.Database(str(path))
    try:
        return format_of(db) == a.FORMAT
    finally:
        db.close()


def format_of(db: xapian.Database) -> int:
    """The format a database was written in (see ``analysis.FORMAT``; 0 for one
    written before formats were recorded)."""
    written = db.get_metadata(a.FORMAT_KEY).decode("utf-8")
    return int(written) if written.isdigit() else 0

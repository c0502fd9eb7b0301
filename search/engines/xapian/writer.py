"""Writing Xapian databases: a whole new one, or one atomic commit into the served one.

A document holds the article as JSON data, prefixed terms with positions for the
text fields and a headline's weighted terms, boolean terms for id, people, date,
story and the body's words as written (for suggestions), and value slots for
sorting and facets. Xapian's commit is atomic: a failed one leaves the last
revision as it was, and the writer is closed so its lock goes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import multiprocessing
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import xapian

from search import phases
from search.children import die_with_parent
from search.completions import completion_keys
from search.engines.xapian import analysis as a
from search.errors import ReindexError
from search.model import Article, IndexDoc, StoredDoc

# Commits while a new database is filled: at 17,800 articles a process, one each
# 500 fills it in 0.9-1.0 ms an article where one each 5,000 took 1.3-1.5 (Xapian
# inverts a smaller batch faster), and one each 250 took 8 % less CPU than 500.
COMMIT_EVERY = 250
# Articles each process of a parallel build fills at least (below, one process).
PARALLEL_FROM = 2000
# Xapian takes terms of up to 245 bytes; a longer completion key or name is left out.
MAX_KEY_BYTES = 240


def document(
    article: Article, minhash: bytes, vocabulary: Counter[str] | None = None
) -> xapian.Document:
    """The Xapian document of an article.

    Each text field has its own prefixed terms (for ``title:``, ``body:``,
    ``people:``), with positions for phrases; a headline's words are also
    ``HEADLINE`` terms, weighted, which plain words are scored on with the body's and
    people's (``analysis.HEADLINE``). A title derived from the lead sentence is not a
    headline: its words are in the body already, and it adds none of its own. The
    body's words as written (for spelling suggestions) are counted in a new
    database's ``vocabulary``, else each is a term of the document.
    """
    doc = xapian.Document()
    title = a.text_terms(article.title)
    body, spellings = a.terms_and_spellings(article.body)
    for prefix, terms in ((a.PREFIXES["title"], title), (a.PREFIXES["body"], body)):
        for position, term in enumerate(terms, 1):
            doc.add_posting(prefix + term, position)
    if not article.title_derived:
        for term in title:
            doc.add_term(a.HEADLINE + term, a.HEADLINE_WDF)
    people_position = 0
    for name in article.people:
        for word in a.name_terms(name):
            people_position += 1
            doc.add_posting(a.PREFIXES["people"] + word, people_position)
        people_position += 1  # no phrase across two people
        if _fits(name):  # a record's, of any length
            doc.add_term(a.PERSON + name)  # weighted: similar() ranks by shared people
    if article.people:
        doc.add_value(a.PEOPLE_SLOT, a.people_value(article.people))
    if vocabulary is None:
        for word in spellings:
            doc.add_boolean_term(a.SPELLING + word)
    else:
        vocabulary.update(spellings)
    for kind, keys in completion_keys(article).items():
        for key in keys:
            if _fits(key):
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


def _fits(key: str) -> bool:
    """Whether ``key`` is short enough to be a term with its prefix."""
    return len(key.encode("utf-8")) < MAX_KEY_BYTES


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


def build(path: Path, articles: Iterable[IndexDoc], procs: int = 1) -> None:
    """Fill a new database in ``path``, then check its count and a canary query.

    With ``procs`` > 1 and articles enough, forked processes each fill a part of
    their own (analysis and Xapian's inversion are most of a build, and take one
    core each), and Xapian's compaction merges the parts into ``path``.
    """
    docs = list(articles)
    canary = next((t for article, _ in docs for t in a.text_terms(article.title)[:1]), None)
    parts = min(procs, len(docs) // PARALLEL_FROM)
    if parts > 1:
        _build_in_parts(path, docs, parts)
    else:
        _fill(path, docs, last=True)
    _check(path, len(docs), canary)


def _fill(path: Path, docs: list[IndexDoc], last: bool) -> None:
    """A new database of ``docs`` in ``path``; ``last``: the build's last commit
    (a phase of the run; a part's commit is not). A part is merged into the build,
    then removed: its commits need not reach the disk."""
    db = xapian.WritableDatabase(str(path), xapian.DB_CREATE | (0 if last else xapian.DB_NO_SYNC))
    vocabulary: Counter[str] = Counter()
    try:
        for number, (article, minhash) in enumerate(docs, 1):
            # A new database: each id is new (the indexer keeps ids distinct), so no
            # lookup of an id to replace, which took a third of a build.
            db.add_document(document(article, minhash, vocabulary))
            if number % COMMIT_EVERY == 0:
                db.commit()
        for word, count in vocabulary.items():
            db.set_metadata(a.SPELLING_KEY + word, str(count))
        db.set_metadata(a.FORMAT_KEY, str(a.FORMAT))
        if last:
            phases.reached("committing")
        db.commit()
    finally:
        db.close()


def _build_in_parts(path: Path, docs: list[IndexDoc], parts: int) -> None:
    """``docs`` in ``parts`` databases filled by forked processes, compacted into ``path``."""
    folders = [path.with_name(f"{path.name}.part{n}") for n in range(parts)]
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_fill_part, args=(folder, docs[n::parts], os.getpid()))
        for n, folder in enumerate(folders)
    ]
    try:
        for child in children:
            child.start()
        for child in children:
            child.join()
        failed = [child.exitcode for child in children if child.exitcode != 0]
        if failed:
            raise ReindexError(f"a process building part of the new index failed ({failed})")
        merged = xapian.Database()
        for folder in folders:
            merged.add_database(xapian.Database(str(folder)))
        phases.reached("committing")
        merged.compact(str(path), 0, 0, _SummingWords())
        merged.close()
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
                child.join()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


class _SummingWords(xapian.Compactor):
    """Compaction of a build's parts: a word as written in several parts is in as
    many documents as their counts add up to; any other metadata is each part's."""

    def resolve_duplicate_metadata(self, key: bytes, tags: list[bytes]) -> bytes:
        # ``key`` as the database stores it: the key written, after a marker.
        if _SPELLING_KEY in key:
            return str(sum(map(int, tags))).encode()
        return tags[0]


_SPELLING_KEY = a.SPELLING_KEY.encode()


def _fill_part(folder: Path, docs: list[IndexDoc], parent: int) -> None:
    """In a forked child: one part of a build (no phases: the parent reaches them)."""
    die_with_parent(parent)
    try:
        _fill(folder, docs, last=False)
    except BaseException:
        os._exit(1)


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

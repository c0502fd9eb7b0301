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
# The tag of a build's count (``analysis.count_key``: the count is in the key).
_COUNTED = "1"


def document(
    article: Article, minhash: bytes, counted: Counter[str] | None = None
) -> xapian.Document:
    """The Xapian document of an article.

    Each text field has its own prefixed terms (for ``title:``, ``body:``,
    ``people:``), with positions for phrases; a headline's words are also
    ``HEADLINE`` terms, weighted, which plain words are scored on with the body's and
    people's (``analysis.HEADLINE``). A title derived from the lead sentence is not a
    headline: its words are in the body already, and it adds none of its own. The
    body's words as written (for spelling suggestions) and the completion keys are
    added up in a new database's ``counted`` (``analysis.COUNT_KEY``), else each is
    a term of the document.
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
    if counted is None:
        for term in _counted_terms(article, spellings):
            doc.add_boolean_term(term)
    else:
        counted.update(_counted_terms(article, spellings))
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


def _fits(key: str, room: int = 0) -> bool:
    """Whether ``key`` is short enough to be a term with its prefix (and ``room``
    bytes more)."""
    return len(key.encode("utf-8")) + room < MAX_KEY_BYTES


def _counted_terms(article: Article, spellings: Iterable[str]) -> list[str]:
    """The terms a build counts once (``analysis.COUNT_KEY``): the body's words as
    written and the completion keys (none too long for its count's key)."""
    terms = [a.SPELLING + word for word in spellings]
    for kind, keys in completion_keys(article).items():
        terms += [
            term
            for key in keys
            if _fits(a.COUNT_KEY + (term := a.COMPLETE[kind] + key), a.COUNT_ROOM)
        ]
    return terms


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


def _fill(path: Path, docs: list[IndexDoc], last: bool, part: int = 0) -> None:
    """A new database of ``docs`` in ``path``, the build's ``part``; ``last``: the
    build's last commit (a phase of the run; a part's commit is not). A part is
    merged into the build, then removed: its commits need not reach the disk."""
    db = xapian.WritableDatabase(str(path), xapian.DB_CREATE | (0 if last else xapian.DB_NO_SYNC))
    counted: Counter[str] = Counter()
    try:
        for number, (article, minhash) in enumerate(docs, 1):
            # A new database: each id is new (the indexer keeps ids distinct), so no
            # lookup of an id to replace, which took a third of a build.
            db.add_document(document(article, minhash, counted))
            if number % COMMIT_EVERY == 0:
                db.commit()
        for term, count in counted.items():
            db.set_metadata(a.count_key(term, count, part), _COUNTED)
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
        context.Process(target=_fill_part, args=(folder, docs[n::parts], n, os.getpid()))
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
        merged.compact(str(path))
        merged.close()
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
                child.join()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def _fill_part(folder: Path, docs: list[IndexDoc], part: int, parent: int) -> None:
    """In a forked child: one part of a build (no phases: the parent reaches them)."""
    die_with_parent(parent)
    try:
        _fill(folder, docs, last=False, part=part)
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
        built = _has_counts(db)
        for doc_id in delete_ids:
            if built:
                _uncount(db, doc_id)
            db.delete_document(a.ID + doc_id)
        for article, minhash in articles:
            doc = document(article, minhash)
            if run is not None:
                doc.add_value(a.RUN_SLOT, xapian.sortable_serialise(run))
            if built:
                _uncount(db, article.id)
            db.replace_document(a.ID + article.id, doc)
        for key, value in (metadata or {}).items():
            db.set_metadata(key, value)
        phases.reached("committing")
        db.commit_transaction()
    except BaseException:
        with contextlib.suppress(xapian.Error):
            db.cancel_transaction()
        raise


def _has_counts(db: xapian.Database) -> bool:
    """Whether ``db`` was built with counted terms (a cluster's replicas never are)."""
    return next(iter(db.metadata_keys(a.COUNT_KEY)), None) is not None


def _uncount(db: xapian.WritableDatabase, doc_id: str) -> None:
    """Take the served document ``doc_id``'s counted terms off the build's counts, if
    the build counted them (a document written since carries them as terms, which
    go with it): its words and completion keys, made again from its stored article."""
    for posting in db.postlist(a.ID + doc_id):
        old = db.get_document(posting.docid)
        article, _ = article_of(old.get_data())
        carried = {item.term.decode("utf-8") for item in old.termlist()}
        spellings = a.terms_and_spellings(article.body)[1]
        for term in _counted_terms(article, spellings):
            if term not in carried:
                _count_one_less(db, term)


def _count_one_less(db: xapian.WritableDatabase, term: str) -> None:
    """One document fewer in a build's count of ``term`` (in any part that has it)."""
    key = next(iter(db.metadata_keys(f"{a.COUNT_KEY}{term}\x00")), None)
    if key is None:
        return
    _, count, part = a.counted(key)
    db.set_metadata(key, "")  # an empty tag removes the key
    if count > 1:
        db.set_metadata(a.count_key(term, count - 1, part), _COUNTED)


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

"""Articles into the index: incremental by content hash, atomic, with a summary.

A run reads every source file's bytes and hashes them. Files whose hash matches
what the index stored for their path are left alone; new and changed files are
parsed, cleaned (``search.ingest.extract``), their people found (``search.ingest.people``) and
their stories placed (``search.ingest.stories``); articles of files that disappeared are
deleted. ``full=True`` re-reads everything into a new generation.

Pushed articles (``search.ingest.pushes``) are applied by ``apply_pushes``, a batch
of the log at a time, through the same extraction, people and stories. A reindex
of folders keeps them (their path is ``push:<id>``, in no folder), and a full
rebuild reads their last records from the log, ahead of the folders' (a pushed id
wins over a file's), and marks the log applied up to where it read.

Where the index lives (generations and locks, or shards) is the store's
(``search.stores``), the index format the engine's (``search.engines``); this module
decides what to write and counts what happened.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from search import phases
from search.children import die_with_parent
from search.errors import ArticleError, ReindexError, ReplicasMissed
from search.ingest.extract import Extracted, extract, recurring_paragraphs
from search.ingest.names import Canon, canonical_people
from search.ingest.people import PersonFinder
from search.ingest.pushes import PUSHED, PushLog, raw_of
from search.ingest.sources import (
    RawArticle,
    SourceFile,
    content_hash,
    decode,
    find_sources,
    parse_source,
    unpack,
)
from search.ingest.stories import BATCH, StoryIndex, is_current, signatures
from search.model import Article, IndexDoc, Skipped, StoredDoc, Summary
from search.stores.base import Store

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Told how far extraction has come; the CLI draws a bar or prints lines."""

    def update(self, done: int, total: int) -> None: ...


class _Silent:
    def update(self, done: int, total: int) -> None:
        pass


@dataclass
class _Scan:
    """Source files split by what a run must do with them."""

    changed: list[tuple[SourceFile, bytes, str]] = field(default_factory=list)
    unchanged_paths: set[str] = field(default_factory=set)
    texts_by_root: dict[Path, list[tuple[SourceFile, bytes]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    skipped: list[Skipped] = field(default_factory=list)
    # Files skipped whole, by path: (content hash, reason), kept for the next run.
    skipped_files: dict[str, tuple[str, str]] = field(default_factory=dict)


# Articles whose people are found and committed first after a full rebuild; each
# commit after that takes twice as many, so the first people come within seconds
# and an index of n articles gets about log2(n / 256) commits (segments, in Whoosh,
# whose incremental commits never merge).
PEOPLE_CHUNK = 256
# Articles from which their signatures are made in ``jobs`` processes.
PARALLEL_SIGNATURES = 2000


class Indexer:
    """Runs reindexes of one index folder with one person finder."""

    def __init__(
        self,
        store: Store,
        finder: PersonFinder | None = None,
        jobs: int = 1,
        engine: str | None = None,
        pushes: PushLog | None = None,
    ) -> None:
        """``engine`` is the one to build with; by default the served index's, or
        the store's default for a new index. ``pushes`` is the log of pushed
        articles that a full rebuild keeps (none: the index has no pushes)."""
        self.store = store
        self.finder = finder or PersonFinder()
        self.jobs = jobs
        self.engine = engine
        self.pushes = pushes
        # The served articles' stories after this writer's last batch, and the
        # index's version then (``_push_stories``).
        self._stories: tuple[tuple[str, int], StoryIndex] | None = None

    def reindex(
        self,
        sources: list[Path],
        full: bool = False,
        progress: Progress | None = None,
        wait: bool = False,
        changing: Callable[[list[tuple[str, str]]], None] | None = None,
    ) -> Summary:
        """Bring the index in line with ``sources``. ``changing`` hears the (id,
        content hash) of each article added or changed, before the index is written:
        what a run killed after its write must still match against the alerts.

        Raises:
            ReindexError: a source folder is missing, the index folder is not
                writable, another reindex holds the lock, or the new index failed
                its checks. The served index is unchanged in every such case.
        """
        started = time.monotonic()
        with self.store.writing(wait=wait):
            previous = self.store.stored_docs()
            served = self.store.current_engine()
            engine = self.engine or served or self.store.default_engine
            # Another engine than the served one's, an older format of it, or story
            # signatures of an older scheme mean a new index: a full rebuild.
            full = (full or served != engine or not self.store.current_format()
                    or not all(is_current(doc.minhash) for doc in previous))  # fmt: skip
            known_skips = {} if full else self.store.skipped_files()
            scan = self._scan(sources, {} if full else _hashes_by_path(previous), known_skips)
            kept = [doc for doc in previous if doc.path in scan.unchanged_paths
                    or (not full and doc.path.startswith(PUSHED))]  # fmt: skip
            pushed_to, pushed = self._live_pushes() if full else (0, [])
            # A first build is served before NER, which then runs over what it wrote;
            # a rebuild over a served index swaps only once people are found, so the
            # facet never goes missing from a running service.
            later = full and served is None and self.store.serves_before_people
            articles, skipped, deferred = self._articles(
                scan, {doc.id for doc in kept}, progress, find_people=not later, pushed=pushed
            )
            scan.skipped_files.update(_skipped_whole(scan, articles, skipped))
            summary = self._count(previous, kept, articles, full)
            summary.skipped = scan.skipped + skipped
            stories = StoryIndex()
            # Only new articles need the others' signatures, to find their story.
            for doc in kept if articles else ():
                stories.add(doc.id, doc.minhash, doc.story)
            documents = list(self._documents(articles, stories))
            removed = {doc.id for doc in previous if doc.path not in scan.unchanged_paths
                       and not doc.path.startswith(PUSHED)}  # fmt: skip
            pending = [] if full else self.store.pending_people()
            if changing is not None:
                new = set(summary.changed)
                changing([(a.id, a.content_hash) for a in articles if a.id in new])
            if full:
                self.store.build(documents, engine, self.jobs, deferred, skipped=scan.skipped_files)
                if self.pushes is not None and pushed_to:
                    self.pushes.mark_applied(pushed_to)
            else:
                if articles or summary.deleted:
                    self.store.apply(removed, documents)
                self.store.remember_skipped(scan.skipped_files)
            if later:

                def republish() -> None:
                    self.store.build(documents, engine, self.jobs, skipped=scan.skipped_files)

                waiting = [pair for pair in documents if pair[0].id in deferred]
                self._find_people_after(waiting, finish=republish)
            elif pending:  # what an interrupted run had not done yet
                done = {a.id for a in articles} | removed
                self._find_pending_people(pending, done, previous)
            self.store.cleanup()
        summary.generation = self.store.current_name()
        summary.documents = len(kept) + len(articles)
        summary.full = full
        summary.seconds = time.monotonic() - started
        return summary

    def _scan(
        self,
        sources: list[Path],
        known: dict[str, set[str]],
        known_skips: dict[str, tuple[str, str]],
    ) -> _Scan:
        scan = _Scan()
        try:
            files = list(find_sources(sources, scan.skipped))
        except ArticleError as exc:
            raise ReindexError(f"cannot read source: {exc}") from exc
        for source in files:
            try:
                data = source.path.read_bytes()
            except OSError as exc:
                scan.skipped.append(Skipped(source.relative, f"cannot read: {exc.strerror}"))
                continue
            digest = content_hash(data)
            skip = known_skips.get(source.relative)
            if skip is not None and skip[0] == digest:
                scan.skipped.append(Skipped(source.relative, f"{skip[1]} (unchanged)"))
                scan.skipped_files[source.relative] = skip
                continue
            if source.kind == "text":
                scan.texts_by_root[source.root].append((source, data))
            if known.get(source.relative) == {digest}:
                scan.unchanged_paths.add(source.relative)
            else:
                scan.changed.append((source, data, digest))
        return scan

    def _articles(
        self,
        scan: _Scan,
        taken: set[str],
        progress: Progress | None,
        find_people: bool = True,
        pushed: list[RawArticle] | None = None,
    ) -> tuple[list[Article], list[Skipped], set[str]]:
        """Parse and extract the changed files (after the ``pushed`` records); find
        people in all new articles (or, without ``find_people``, only take those a
        record gives, and return the ids of the others, whose people are still to
        find)."""
        # Chrome is learnt from every text file of a root, but only roots with a
        # changed file need it: a run with nothing changed reads no text at all.
        changed_roots = {source.root for source, _, _ in scan.changed if source.kind == "text"}
        chrome = {root: _chrome(scan.texts_by_root[root]) for root in changed_roots}
        extracted: list[tuple[RawArticle, Extracted]] = []
        skipped: list[Skipped] = []
        seen = dict.fromkeys(taken, "the index")
        parsed: list[tuple[Path | None, list[RawArticle]]] = [(None, pushed or [])]
        for source, data, digest in scan.changed:
            raws, bad = parse_source(source, data, digest)
            skipped += bad
            parsed.append((source.root, raws))
        for root, raws in parsed:
            for raw in raws:
                if raw.id in seen:
                    skipped.append(
                        Skipped(raw.path, f"duplicate id {raw.id!r} (also in {seen[raw.id]})")
                    )
                    continue
                try:
                    extracted.append(
                        (raw, extract(raw, chrome.get(root, set()) if root else set()))
                    )
                    seen[raw.id] = raw.path
                except ArticleError as exc:
                    skipped.append(Skipped(raw.path, str(exc)))
        articles, deferred = self._made(extracted, find_people, progress or _Silent())
        return articles, skipped, deferred

    def _made(
        self, extracted: list[tuple[RawArticle, Extracted]], find_people: bool, progress: Progress
    ) -> tuple[list[Article], set[str]]:
        """The articles of ``extracted``, with their people found (or, without
        ``find_people``, those a record gives, and the ids of the others)."""
        total = len(extracted)
        progress.update(0, total)
        canon = Canon()
        articles = []
        deferred = set() if find_people else {raw.id for raw, _ in extracted if not _given(raw)}
        found = self._people(extracted) if find_people else self._record_people(extracted)
        for done, ((raw, text), people) in enumerate(zip(extracted, found, strict=True), 1):
            articles.append(
                Article(
                    id=raw.id,
                    title=text.title,
                    body=text.body,
                    date=text.date,
                    people=canon(people),
                    url=text.url,
                    source=text.source,
                    path=raw.path,
                    content_hash=raw.content_hash,
                    title_derived=text.title_derived,
                )
            )
            progress.update(done, total)
        return articles, deferred

    def _live_pushes(self) -> tuple[int, list[RawArticle]]:
        """Every pushed article's last record, and how far in the log that reads."""
        if self.pushes is None:
            return 0, []
        newest, live = self.pushes.live()
        raws = []
        for push in live:
            assert push.record is not None and push.content_hash is not None
            try:
                raws.append(raw_of(push.id, push.record, push.content_hash))
            except ArticleError:
                continue  # checked when pushed; a record no longer readable is left out
        return newest, raws

    def apply_pushes(self, limit: int) -> int:
        """Apply the next entries of the push log (``limit`` at most) in one commit
        under the one-writer lock; returns how many there were.

        The batch is read under the lock, so a full rebuild that ran meanwhile (and
        marked the log applied up to where it read) is never undone by an older
        record. People are found after the commit, as after a first build. An idle
        writer looks without the lock, which it would otherwise take many times a
        second.
        """
        assert self.pushes is not None
        if not self.pushes.pending(1):
            return 0
        with self.store.writing(wait=True, batch=True):
            batch = self.pushes.pending(limit)
            if not batch:
                return 0
            last = {push.id: push for push in batch}  # a later entry for an id wins
            extracted = []
            for push in last.values():
                if push.record is not None and push.content_hash is not None:
                    with contextlib.suppress(ArticleError):  # checked when pushed
                        raw = raw_of(push.id, push.record, push.content_hash)
                        extracted.append((raw, extract(raw)))
            served = self.store.current_name() is not None
            later = self.store.serves_before_people
            articles, deferred = self._made(extracted, not later, _Silent())
            self._stories, stories = None, self._push_stories(served, list(last))
            documents = list(self._documents(articles, stories))
            engine = self.engine or self.store.current_engine() or self.store.default_engine
            if served:
                # Every id of the batch goes, then its new records come: a store
                # replaces an article by deleting it in the same commit.
                self._apply_anywhere(list(last), documents)
            else:
                self.store.build(documents, engine, self.jobs, deferred)
            phases.reached("committed")
            self.pushes.mark_applied(batch[-1].seq)
            waiting = [pair for pair in documents if pair[0].id in deferred]
            if waiting:
                self._find_people_after(waiting)
            self._stories = (self._served_version(), stories)
        return len(batch)

    def _push_stories(self, served: bool, replaced: list[str]) -> StoryIndex:
        """The stories of the served articles but ``replaced``, to place a batch's
        articles in. Reading every article's signature took 0.3 s a batch at 2,225
        articles, 5 s at 35,600: the writer keeps the index of its last batch, as
        long as nothing else (a reindex, between two batches) has written since."""
        if not served:
            return StoryIndex()
        kept = self._stories
        if kept is not None and kept[0] == self._served_version():
            stories = kept[1]
        else:
            stories = StoryIndex()
            for doc in self.store.stored_docs():
                stories.add(doc.id, doc.minhash, doc.story)
        for doc_id in replaced:
            stories.remove(doc_id)
        return stories

    def _served_version(self) -> tuple[str, int]:
        """The served index's name and commit: another writer changes one of them."""
        served = self.store.open_current()
        try:
            return served.name, int(served.reader.stats()["commit"])
        finally:
            served.reader.close()
            served.close()

    def _apply_anywhere(self, delete_ids: list[str], documents: list[IndexDoc]) -> None:
        """``store.apply``, done once every shard has a replica that took it: the
        replicas that missed it catch up from those (``Store.catch_up``).

        Raises:
            ReplicasMissed: a shard has no replica that took it.
        """
        try:
            self.store.apply(delete_ids, documents)
        except ReplicasMissed as exc:
            if exc.unwritten:
                raise
            log.warning("%s", exc)

    def resume_people(self) -> None:
        """Find the people still to find of served articles, where a run or a writer
        killed while finding them left off."""
        with self.store.writing(wait=True, batch=True):
            pending = self.store.pending_people()
            if pending:
                self._find_pending_people(pending, set(), self.store.stored_docs())

    def _find_pending_people(
        self, pending: list[str], done: set[str], stored: list[StoredDoc]
    ) -> None:
        """Find the people of the served articles of ``pending`` (but ``done``)."""
        minhashes = {doc.id: doc.minhash for doc in stored}
        self._find_people_after(self._served(pending, done, minhashes))

    def _people(self, extracted: list[tuple[RawArticle, Extracted]]) -> Iterator[list[str]]:
        """People given in a record are taken as mentions; the rest run through NER."""
        texts = [
            None if _given(raw) else _ner_text(text.title, text.body) for raw, text in extracted
        ]
        found = self._found(text for text in texts if text is not None)
        for (raw, _), text in zip(extracted, texts, strict=True):
            yield _given_people(raw) if text is None else next(found)

    def _record_people(self, extracted: list[tuple[RawArticle, Extracted]]) -> Iterator[list[str]]:
        for raw, _ in extracted:
            yield _given_people(raw) if _given(raw) else []

    def _found(
        self, texts: Iterable[str], known: dict[bytes, list[str]] | None = None
    ) -> Iterator[list[str]]:
        """NER's people of each text, once per distinct text (syndicated copies and
        re-scrapes share the result; ``known`` carries results from call to call),
        lazily, so progress moves as NER does."""
        known = {} if known is None else known
        texts = list(texts)
        keys = [_digest(text) for text in texts]
        distinct = {key: text for key, text in zip(keys, texts, strict=True) if key not in known}
        found_people = self.finder.people(list(distinct.values()), jobs=self.jobs)
        results = zip(distinct, found_people, strict=True)
        for key in keys:
            while key not in known:
                found, people = next(results)
                known[found] = people
                if len(known) == 1:
                    phases.reached("ner")
            yield list(known[key])

    def _find_people_after(
        self, waiting: list[IndexDoc], finish: Callable[[], None] | None = None
    ) -> None:
        """Find the people of served articles, a chunk at a time (``PEOPLE_CHUNK``,
        doubling), each chunk committed (and picked up by the servers) before the
        next; what is left is recorded, so a run killed here is finished by the next.

        ``finish`` publishes the last chunk instead, as a new generation of every
        article: one more build without NER, where the chunks rewritten in place left
        a Whoosh index twice a full rebuild's size, in more segments, slower to search.
        """
        self.store.set_pending_people([article.id for article, _ in waiting])
        canon = Canon()
        known: dict[bytes, list[str]] = {}
        start, size = 0, PEOPLE_CHUNK
        while start < len(waiting):
            chunk = waiting[start : start + size]
            texts = (_ner_text(article.title, article.body) for article, _ in chunk)
            found = self._found(texts, known)
            for (article, _), people in zip(chunk, found, strict=True):
                article.people = canon(people)
            if finish is not None and start + size >= len(waiting):
                finish()
                return
            self.store.apply((), chunk)
            start, size = start + size, size * 2
            self.store.set_pending_people([article.id for article, _ in waiting[start:]])

    def _served(
        self, ids: list[str], done: set[str], minhashes: dict[str, bytes]
    ) -> list[IndexDoc]:
        """The served articles of ``ids`` (but ``done``), with their signatures."""
        generation = self.store.open_current()
        try:
            found = [(generation.reader.document(i), minhashes.get(i, b"")) for i in ids]
        finally:
            generation.reader.close()
            generation.close()
        return [(a, m) for a, m in found if a is not None and a.id not in done]

    @staticmethod
    def _count(
        previous: list[StoredDoc], kept: list[StoredDoc], articles: list[Article], full: bool
    ) -> Summary:
        before = {doc.id for doc in previous}
        kept_ids = {doc.id for doc in kept}
        now = {article.id for article in articles}
        hashes = {doc.id: doc.content_hash for doc in previous}
        return Summary(
            added=len(now - before),
            updated=len(now & before),
            deleted=len(before - now - kept_ids),
            unchanged=len(kept_ids),
            full=full,
            # A full rebuild reads every file again; what it did not change is not new.
            changed=[a.id for a in articles if hashes.get(a.id) != a.content_hash],
        )

    def _documents(self, articles: list[Article], stories: StoryIndex) -> Iterable[IndexDoc]:
        """Each article with its story placed, and its MinHash signature."""
        for article, minhash in zip(articles, self._signatures(articles), strict=True):
            article.story = stories.assign(article.id, minhash)
            yield article, minhash

    def _signatures(self, articles: list[Article]) -> Iterator[bytes]:
        """The articles' MinHash signatures, ``BATCH`` bodies at a time: in ``jobs``
        forked processes for a long run, handed on as they come so that stories
        are placed while the rest are made."""
        bodies = [article.body for article in articles]
        batches = [bodies[start : start + BATCH] for start in range(0, len(bodies), BATCH)]
        if self.jobs <= 1 or len(bodies) < PARALLEL_SIGNATURES:
            for batch in batches:
                yield from signatures(batch)
            return
        context = multiprocessing.get_context("fork")
        with context.Pool(self.jobs, die_with_parent, (os.getpid(),)) as pool:
            for signed in pool.imap(signatures, batches):
                yield from signed


def _given(raw: RawArticle) -> bool:
    return isinstance(raw.fields.get("people"), list)


def _given_people(raw: RawArticle) -> list[str]:
    """A record's own people, taken as mentions."""
    return canonical_people([str(name) for name in raw.fields.get("people", [])])


def _digest(text: str) -> bytes:
    """A short key for a text, so a run remembers NER results without the texts."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _ner_text(title: str, body: str) -> str:
    return f"{title}\n\n{body}"


def _skipped_whole(
    scan: _Scan, articles: list[Article], skipped: list[Skipped]
) -> dict[str, tuple[str, str]]:
    """Changed files that gave no article at all, with the first reason why."""
    indexed = {article.path for article in articles}
    reasons: dict[str, str] = {}
    for item in skipped:
        reasons.setdefault(item.path, item.reason)
    return {
        source.relative: (digest, reasons[source.relative])
        for source, _, digest in scan.changed
        if source.relative not in indexed and source.relative in reasons
    }


def _hashes_by_path(docs: list[StoredDoc]) -> dict[str, set[str]]:
    hashes: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        hashes[doc.path].add(doc.content_hash)
    return hashes


def _chrome(files: list[tuple[SourceFile, bytes]]) -> set[str]:
    """Recurring paragraphs of one source root's plain-text files."""
    decoded = []
    for source, data in files:
        try:
            decoded.append(decode(unpack(source.path, data)))
        except ArticleError:
            continue
    return recurring_paragraphs(decoded)

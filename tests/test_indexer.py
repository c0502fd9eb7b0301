"""Reindexing: incremental counts, skipped files, kills at any point, concurrent runs."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from search import indexer as indexer_module
from search import phases
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.ingest.stories import NUM_PERM, is_current
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import PREFIX, LocalStore
from tests.conftest import (
    BBC,
    blocked_on_a_lock,
    kill_at_phase,
    make_corpus,
    stopped_at_phase,
    wait_for,
)


def counts(summary) -> tuple[int, int, int, int, int]:  # type: ignore[no-untyped-def]
    return summary.added, summary.updated, summary.deleted, summary.unchanged, len(summary.skipped)


def ids(store: LocalStore) -> set[str]:
    return {doc.id for doc in store.stored_docs()}


def test_second_run_finds_everything_unchanged(tmp_path: Path, finder: PersonFinder) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    indexer = Indexer(LocalStore(tmp_path / "index"), finder)
    first = indexer.reindex([corpus])
    assert first.full and counts(first) == (17, 0, 0, 0, 0)
    second = indexer.reindex([corpus])
    assert not second.full and counts(second) == (0, 0, 0, 17, 0)
    assert second.generation == first.generation


def test_changed_added_and_deleted_files_are_counted_and_served(
    tmp_path: Path, finder: PersonFinder
) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = LocalStore(tmp_path / "index")
    indexer = Indexer(store, finder)
    indexer.reindex([corpus])
    (corpus / "bbc" / "politics" / "001.txt").write_text(
        "Quokka census\n\nRangers counted every quokka on the island.\n"
    )
    (corpus / "new.txt").write_text(
        "Penguin parade\n\nThe penguin parade drew record crowds on Sunday.\n"
    )
    (corpus / "bbc" / "business" / "002.txt").unlink()
    summary = indexer.reindex([corpus])
    assert counts(summary) == (1, 1, 1, 15, 0)
    assert summary.documents == 17
    service = SearchService(store, refresh_interval_s=0)
    assert [h.id for h in service.search(parse_request({"q": "quokka"})).hits] == [
        "bbc/politics/001"
    ]
    assert [h.id for h in service.search(parse_request({"q": "penguin"})).hits] == ["new"]
    assert "bbc/business/002" not in ids(store)
    full = indexer.reindex([corpus], full=True)
    assert full.full and counts(full) == (0, 17, 0, 0, 0)
    service.close()


def test_bad_files_are_skipped_with_reasons_and_good_ones_index(
    tmp_path: Path, finder: PersonFinder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Good headline\n\nA perfectly good article about trains.\n")
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(b"\x00\xff" * 100)
    (corpus / "cut.txt.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (corpus / "feed.jsonl").write_text(
        '{"id": "j1", "body": "Jsonl article about buses."}\n{oops\n'
    )
    (corpus / "dupe.json").write_text(json.dumps({"id": "j1", "body": "Same id again."}))
    summary = Indexer(LocalStore(tmp_path / "index"), finder).reindex([corpus])
    assert summary.added == 2
    reasons = sorted(str(s) for s in summary.skipped)
    assert len(reasons) == 5
    assert reasons[0] == "binary.txt: binary content, not text"
    assert reasons[1].startswith("cut.txt.gz: truncated or corrupt gzip")
    assert reasons[2:] == [
        "empty.txt: empty file",
        "feed.jsonl: duplicate id 'j1' (also in dupe.json)",
        "feed.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes",
    ]


def test_words_names_and_ids_too_long_for_a_term_fail_no_run(
    tmp_path: Path, finder: PersonFinder, engine: str
) -> None:
    """Xapian takes no term past 245 bytes: a word or a name that long is left out of
    the terms and its article indexed, an id that long is refused with its reason,
    and every other article is indexed, on each engine."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    long = "z" * 300
    records = [
        {"id": "word", "title": "Long word", "body": f"A scrape kept {long} in a text on trams."},
        {"id": "name", "title": "Long name", "body": "On ferries.", "people": [f"Ada Z{long}"]},
        {"id": "i" * 201, "title": "Long id", "body": "An article about bicycles."},
        {"id": "fine", "title": "Fine", "body": "An article about buses."},
    ]
    (corpus / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    store = LocalStore(tmp_path / "index")
    summary = Indexer(store, finder, engine=engine).reindex([corpus])
    assert summary.added == 3
    assert [str(s) for s in summary.skipped] == [
        "feed.jsonl: id is over the 200 bytes an id may take"
    ]
    service = SearchService(store, cache_size=0)
    for q, expected in (("trams", "word"), ("ferries", "name"), ("people:ada", "name")):
        assert [hit.id for hit in service.search(parse_request({"q": q})).hits] == [expected]
    service.close()


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "search.cli", "reindex", *args],
        capture_output=True, text=True, timeout=300, **kwargs,
    )  # fmt: skip


def bbc_folder(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "bbc"
    folder.mkdir()
    for path in sorted((BBC / "tech").glob("*.txt"))[:count]:
        shutil.copy(path, folder / path.name)
    return folder


def test_cli_summary_json_and_fatal_errors(tmp_path: Path) -> None:
    folder = bbc_folder(tmp_path, 3)
    result = run_cli(str(folder), "--index", str(tmp_path / "index"), "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == 3
    missing = run_cli(str(tmp_path / "nope"), "--index", str(tmp_path / "index"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    assert "Traceback" not in missing.stderr


# Where a run can be killed (search.phases), in the order a run reaches them; a full
# rebuild over a served index finds people before it writes, and publishes a new
# generation; an incremental run commits into the served one.
KILLS = [("full", phase) for phase in phases.PHASES] + [
    ("incremental", phase) for phase in phases.PHASES if phase != "publishing"
]


def generations(index: Path) -> list[str]:
    return sorted(path.name for path in index.glob(f"{PREFIX}*"))


@pytest.mark.parametrize(("kind", "phase"), KILLS, ids=[f"{k}-{p}" for k, p in KILLS])
def test_a_run_killed_at_each_phase_leaves_a_whole_index_served(
    tmp_path: Path, finder: PersonFinder, engine: str, kind: str, phase: str
) -> None:
    """SIGKILL a reindex where it says it is: before its changes are served the old
    index serves whole, after they are the new one does; the next run finishes the job."""
    index = tmp_path / "index"
    corpus = bbc_folder(tmp_path, 12)
    store = LocalStore(index)
    indexer = Indexer(store, finder, engine=engine)
    indexer.reindex([corpus])
    served, before = store.current_name(), ids(store)
    for number in (1, 2):  # two new articles, so NER has more than one text
        shutil.copy(BBC / "politics" / f"00{number}.txt", corpus / f"new-{number}.txt")
    command = [sys.executable, "-m", "search.cli", "reindex", str(corpus), "--index", str(index),
               "--quiet", "--jobs", "1", *(["--full"] if kind == "full" else [])]  # fmt: skip
    assert kill_at_phase(command, phase, tmp_path) == -signal.SIGKILL
    after = before | {"new-1", "new-2"}
    changes_served = phase == "cleanup"
    assert ids(store) == (after if changes_served else before)
    assert (store.current_name() == served) == (kind == "incremental" or not changes_served)
    service = SearchService(store, refresh_interval_s=0)
    expected = len(after if changes_served else before)
    assert service.search(parse_request({"q": ""})).total == expected
    service.close()
    again = indexer.reindex([corpus], full=kind == "full")
    assert ids(store) == after
    assert generations(index) == [again.generation]


def test_two_reindexes_at_once(tmp_path: Path) -> None:
    """The second exits with a clear message while the first holds the lock; --wait waits."""
    folder = bbc_folder(tmp_path, 25)
    command = [sys.executable, "-m", "search.cli", "reindex", str(folder),
               "--index", str(tmp_path / "index"), "--quiet", "--json"]  # fmt: skip
    first = stopped_at_phase(command, "writing", tmp_path)
    try:
        second = run_cli(*command[4:])
        waiting = subprocess.Popen([*command, "--wait"], stdout=subprocess.PIPE, text=True)
        wait_for(lambda: blocked_on_a_lock(waiting.pid), 60, "the --wait run to wait")
    finally:
        first.send_signal(signal.SIGCONT)
        first.communicate(timeout=300)
    waited, _ = waiting.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 3 and "another reindex is running" in second.stderr
    assert waiting.returncode == 0 and json.loads(waited)["unchanged"] == 25


class CountingFinder(PersonFinder):
    """The real NER, counting the texts it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def people(self, texts, jobs=1):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return super().people(texts, jobs)


def test_identical_texts_go_through_ner_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a run, even when the copies fall in different chunks of people found
    after publishing."""
    monkeypatch.setattr("search.indexer.PEOPLE_CHUNK", 1)
    corpus = tmp_path / "corpus"
    for copy in ("a", "b", "c"):
        (corpus / copy).mkdir(parents=True)
        shutil.copy(BBC / "politics" / "001.txt", corpus / copy / "001.txt")
    shutil.copy(BBC / "politics" / "002.txt", corpus / "a" / "002.txt")
    finder = CountingFinder()
    store = LocalStore(tmp_path / "index")
    assert Indexer(store, finder).reindex([corpus]).added == 4
    assert finder.texts == 2
    service = SearchService(store)
    people = {doc.id: service.document(doc.id).people for doc in store.stored_docs()}
    service.close()
    assert people["a/001"] == people["b/001"] == people["c/001"]
    assert "Tony Blair" in people["a/001"]


def test_another_engine_means_a_full_rebuild_that_keeps_every_article(
    tmp_path: Path, corpus: Path, finder: PersonFinder
) -> None:
    store = LocalStore(tmp_path / "index")
    first = Indexer(store, finder, engine="whoosh").reindex([corpus])
    switched = Indexer(store, finder, engine="xapian").reindex([corpus])
    assert switched.full and switched.generation != first.generation
    assert store.current_engine() == "xapian"
    assert switched.documents == first.documents
    again = Indexer(store, finder).reindex([corpus])  # follows the index's engine
    assert not again.full and again.unchanged == first.documents
    service = SearchService(store, cache_size=0)
    try:
        assert service.stats()["engine"] == "xapian"
        assert service.search(parse_request({"q": "Paris Declaration"})).total == 2
    finally:
        service.close()


class _FailingAfter(PersonFinder):
    """A finder whose NER stops working after ``calls`` batches, as a killed run's would."""

    def __init__(self, finder: PersonFinder, calls: int) -> None:
        super().__init__()
        self._nlp = finder.nlp
        self.calls = calls

    def people(self, texts, jobs=1):  # type: ignore[no-untyped-def]
        if self.calls == 0:
            raise RuntimeError("NER stopped")
        self.calls -= 1
        return super().people(texts, jobs)


def test_a_full_rebuild_serves_first_and_the_next_run_finishes_its_people(
    tmp_path: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    """People are found after the articles are published, a chunk at a time; a run
    that stops halfway leaves the rest recorded, and the next run, with nothing
    changed, finds them."""
    monkeypatch.setattr("search.indexer.PEOPLE_CHUNK", 4)
    corpus = make_corpus(tmp_path / "corpus")
    store = LocalStore(tmp_path / "index")
    with pytest.raises(RuntimeError, match="NER stopped"):
        Indexer(store, _FailingAfter(finder, calls=2), engine=engine).reindex([corpus])
    pending = store.pending_people()
    # Published, searchable, the first two chunks' people found, the rest recorded.
    assert store.current_name() is not None and len(ids(store)) == 17
    assert 0 < len(pending) <= 17 - 2 * 4 - 1  # the JSON records come with their people
    service = SearchService(store, cache_size=0)
    assert service.search(parse_request({"q": "paris"})).total >= 2
    assert service.stats()["people_pending"] == len(pending)
    summary = Indexer(store, finder, engine=engine).reindex([corpus])
    assert summary.unchanged == 17 and store.pending_people() == []
    assert service.stats()["people_pending"] == 0
    people = service.search(parse_request({"q": "", "per_page": "100", "facets": "people"}))
    reference = tmp_path / "reference"
    Indexer(LocalStore(reference), finder, engine=engine).reindex([corpus])
    expected = SearchService(LocalStore(reference), cache_size=0).search(
        parse_request({"q": "", "per_page": "100", "facets": "people"})
    )
    assert {h.id: set(h.people) for h in people.hits} == {
        h.id: set(h.people) for h in expected.hits
    }
    service.close()


def test_a_full_rebuild_over_a_served_index_swaps_only_with_its_people(
    tmp_path: Path, corpus: Path, finder: PersonFinder, engine: str
) -> None:
    """Serving first is for a first build: over a served index, the people facet
    never goes missing, and a rebuild whose NER fails leaves the served index as it was."""
    store = LocalStore(tmp_path / "index")
    first = Indexer(store, finder, engine=engine).reindex([corpus])
    with pytest.raises(RuntimeError, match="NER stopped"):
        Indexer(store, _FailingAfter(finder, calls=0), engine=engine).reindex([corpus], full=True)
    assert store.current_name() == first.generation
    rebuilt = Indexer(store, finder, engine=engine).reindex([corpus], full=True)
    assert rebuilt.generation != first.generation and store.pending_people() == []


def test_a_first_build_ends_as_compact_as_a_full_rebuild(
    tmp_path: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    """Served first, people after, and then no trace of it: the last chunk of people
    is published as a new generation, not rewritten over half the index."""
    monkeypatch.setattr("search.indexer.PEOPLE_CHUNK", 2)
    corpus = make_corpus(tmp_path / "corpus")
    store = LocalStore(tmp_path / "index")
    Indexer(store, finder, engine=engine).reindex([corpus])
    first = _served_size(store)
    Indexer(store, finder, engine=engine).reindex([corpus], full=True)  # people before publishing
    assert first <= 1.1 * _served_size(store)


def _served_size(store: LocalStore) -> int:
    name = store.current_name()
    assert name is not None
    return store.size_bytes(name)


def test_files_skipped_whole_are_recorded_with_each_new_generation(
    tmp_path: Path, finder: PersonFinder
) -> None:
    """A first build and a full rebuild publish the record of what they skipped whole,
    so the run after each reports those files again without reading them."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Good headline\n\nA perfectly good article about trains.\n")
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(b"\x00\xff" * 100)
    indexer = Indexer(LocalStore(tmp_path / "index"), finder)
    unchanged = [
        "binary.txt: binary content, not text (unchanged)",
        "empty.txt: empty file (unchanged)",
    ]
    for full in (False, True):
        indexer.reindex([corpus], full=full)  # a first build, then a full rebuild
        after = indexer.reindex([corpus])
        assert sorted(str(s) for s in after.skipped) == unchanged


def test_pushed_near_duplicates_join_the_story_before_and_after_a_reindex(
    tmp_path: Path, finder: PersonFinder, engine: str
) -> None:
    """The writer keeps the stories of its last batch; a reindex between two batches
    (which writes the index) makes it read them again, and nothing is misplaced."""
    from search.ingest.pushes import PushLog, check

    corpus = make_corpus(tmp_path / "corpus")
    store = LocalStore(tmp_path / "index")
    pushes = PushLog(store.root)
    indexer = Indexer(store, finder, engine=engine, pushes=pushes)
    indexer.reindex([corpus])
    text = " ".join(
        f"The harbour board met on day {n} to settle the ferry fares." for n in range(30)
    )

    def push(doc_id: str, body: str) -> str:
        pushes.write([check({"id": doc_id, "title": "Ferry fares", "body": body, "people": []})])
        assert indexer.apply_pushes(100) == 1
        return next(doc.story for doc in store.stored_docs() if doc.id == doc_id)

    assert push("first", text) == "first"
    assert push("again", text + " Fares rise in June.") == "first"  # kept stories
    assert push("other", "A different story about the budget and the chancellor.") == "other"
    filed = " ".join(f"Lighthouse keepers on shift {n} logged the storm." for n in range(30))
    (corpus / "wire2.jsonl").write_text(
        json.dumps({"id": "filed", "title": "Storm", "body": filed, "people": []}) + "\n"
    )
    indexer.reindex([corpus])  # writes the index between two batches
    # Placed among what the reindex wrote, which the last batch's stories lack.
    assert push("late", filed + " Logged again.") == "filed"
    assert push("again2", text + " Fares fall in July.") == "first"


def test_an_index_of_signatures_of_an_older_scheme_is_rebuilt_in_full(
    tmp_path: Path, finder: PersonFinder, engine: str
) -> None:
    """Story signatures of the SHA-1 scheme cannot be compared with today's: the
    next reindex signs every article anew, and the one after is incremental again."""
    corpus = make_corpus(tmp_path / "corpus")
    store = LocalStore(tmp_path / "index")
    indexer = Indexer(store, finder, engine=engine)
    indexer.reindex([corpus])
    generation = store.open_current()
    try:
        articles = [generation.reader.document(doc.id) for doc in store.stored_docs()]
    finally:
        generation.reader.close()
        generation.close()
    # Every article signed as before CRC32 shingles.
    store.apply([], [(article, bytes(8 * NUM_PERM)) for article in articles if article])
    assert not any(is_current(doc.minhash) for doc in store.stored_docs())
    assert indexer.reindex([corpus]).full
    assert all(is_current(doc.minhash) for doc in store.stored_docs())
    assert not indexer.reindex([corpus]).full


def test_signatures_made_in_forked_processes_place_the_same_stories(
    tmp_path: Path, finder: PersonFinder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long run makes its articles' signatures in ``jobs`` processes: the same
    signatures and stories as one process makes."""
    monkeypatch.setattr(indexer_module, "PARALLEL_SIGNATURES", 100)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(1, 151):  # and near-duplicates of 20, so stories are shared
        shutil.copy(BBC / "politics" / f"{number:03d}.txt", corpus / f"{number}.txt")
        if number <= 20:
            shutil.copy(BBC / "politics" / f"{number:03d}.txt", corpus / f"again-{number}.txt")
    stored = []
    for jobs in (1, 2):
        store = LocalStore(tmp_path / f"jobs{jobs}")
        Indexer(store, finder, jobs=jobs, engine="whoosh").reindex([corpus])
        stored.append(sorted((d.id, d.story, d.minhash) for d in store.stored_docs()))
    assert stored[0] == stored[1] and len(stored[0]) == 170
    assert len({story for _, story, _ in stored[0]}) < len(stored[0])  # stories shared

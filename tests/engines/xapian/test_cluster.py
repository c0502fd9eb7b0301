"""The Xapian engine over shards of real ``xapian-tcpsrv`` replicas: the same answers
as one database, failover, and runs that miss a replica."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xapian

from search.engines.xapian import analysis, cluster
from search.engines.xapian.servers import LocalCluster
from search.errors import LockHeld, ReplicasMissed, ShardUnavailable
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore
from search.stores.sharded import ShardedStore
from tests.conftest import SAMPLE_A, make_corpus

TIME_LIMIT_S = 2.0
REQUESTS: list[dict[str, Any]] = [
    {"q": "paris"},
    {"q": "Paris Declaration", "collapse": "true", "facets": "people,month,year"},
    {"q": ""},
    {"q": "", "sort": "-date", "per_page": "5", "page": "2"},
    {"q": "budget OR tax", "sort": "date"},
    {"q": '"paris declaration"'},
    {"q": "people:starmer -kushner"},
    {"q": "gottemoell*"},
    {"q": "gotemoeller~"},
    {"q": "date:[2025-01-01 TO 2025-12-31]"},
    {"q": "paris", "people": "Emmanuel Macron", "from": "2024-01-01"},
    {"q": "where did the leaders sign the declaration", "match": "any"},
    {"q": "Kushnr"},
    {"q": "election", "facets": "people"},
]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, corpus: Path, finder: PersonFinder) -> Any:
    path = tmp_path_factory.mktemp("single") / "index"
    Indexer(LocalStore(path), finder, engine="xapian").reindex([corpus])
    service = SearchService(LocalStore(path), cache_size=0)
    yield service
    service.close()


def _shown(service: SearchService, params: dict[str, Any]) -> dict[str, Any]:
    shown = service.search(parse_request(params)).as_dict()
    shown.pop("took_ms")
    return shown


def test_shards_answer_exactly_as_one_database(
    cluster: Any, sharded_index: Path, single: Any
) -> None:
    sharded = SearchService(
        ShardedStore(sharded_index, cluster.shards, "xapian", TIME_LIMIT_S), cache_size=0
    )
    try:
        for params in REQUESTS:
            assert _shown(sharded, params) == _shown(single, params), params
        assert sharded.document(SAMPLE_A) == single.document(SAMPLE_A)
        assert (
            sharded.similar(SAMPLE_A).as_dict()["hits"]
            == single.similar(SAMPLE_A).as_dict()["hits"]
        )
        assert _shown(sharded, {"q": "Kushnr"})["suggestion"] == "kushner"
        ids = [SAMPLE_A, "no-such-article", "x" * 300]
        assert sharded.existing(ids) == single.existing(ids) == {SAMPLE_A}
    finally:
        sharded.close()


def test_the_articles_records_come_in_one_answer_a_shard(
    cluster: Any, sharded_index: Path, single: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an incremental run reads of every article (id, path, content hash, story,
    MinHash) comes from a value spy, one answer a shard: reading each document took a
    round trip per article. The records are those of one database."""
    expected = sorted(single.store.stored_docs(), key=lambda doc: doc.id)
    assert all(single.document(doc.id).content_hash == doc.content_hash for doc in expected)
    store = ShardedStore(sharded_index, cluster.shards, "xapian", TIME_LIMIT_S)

    def fetched(*args: Any) -> None:
        raise AssertionError("a document was read one by one")

    monkeypatch.setattr(xapian.Database, "get_document", fetched)
    assert sorted(store.stored_docs(), key=lambda doc: doc.id) == expected


class Running:
    """A cluster of its own (these tests kill replicas) with a service over it."""

    def __init__(self, folder: Path, finder: PersonFinder) -> None:
        self.cluster = LocalCluster(folder / "cluster", shards=2, replicas=2)
        self.shards = self.cluster.start()
        self.corpus = make_corpus(folder / "corpus")
        self.store = ShardedStore(folder / "index", self.shards, "xapian", TIME_LIMIT_S)
        self.indexer = Indexer(self.store, finder)
        self.indexer.reindex([self.corpus])
        self.failovers: list[tuple[int, str]] = []
        self.service = SearchService(
            ShardedStore(
                folder / "index", self.shards, "xapian", TIME_LIMIT_S,
                on_failover=lambda shard, replica: self.failovers.append((shard, replica)),
            ),
            cache_size=0, refresh_interval_s=0.0,
        )  # fmt: skip

    def total(self, q: str) -> int:
        return self.service.search(parse_request({"q": q})).total

    def states(self) -> list[list[str]]:
        shards = self.service.stats()["shards"]
        return [[replica["state"] for replica in shard["replicas"]] for shard in shards]

    def add_article(self, doc_id: str, text: str) -> None:
        record = {"id": doc_id, "title": text, "body": text, "people": []}
        with (self.corpus / "wire.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")


@pytest.fixture
def running(tmp_path: Path, finder: PersonFinder) -> Iterator[Running]:
    it = Running(tmp_path, finder)
    yield it
    it.service.close()
    it.cluster.stop()


def _unavailable_within_the_limit(running: Running, q: str) -> ShardUnavailable:
    started = time.monotonic()
    with pytest.raises(ShardUnavailable) as raised:
        running.total(q)
    assert time.monotonic() - started < TIME_LIMIT_S
    return raised.value


def test_a_dead_replica_fails_over_and_a_dead_shard_is_unavailable_until_it_returns(
    running: Running,
) -> None:
    before = running.total("paris")
    running.cluster.kill(0, 0)
    assert running.total("paris") == before
    assert running.failovers == [(0, str(running.shards.replicas[0][0]))]
    assert running.states()[0] == ["down", "serving"]
    running.cluster.kill(0, 1)
    error = _unavailable_within_the_limit(running, "paris")
    assert "shard 0" in str(error) and error.code == "shard_unavailable"
    running.cluster.restart(0, 1)
    assert running.total("paris") == before  # the same service, no restart
    running.cluster.restart(0, 0)


def test_a_hung_replica_is_skipped_within_the_time_limit(running: Running) -> None:
    before = running.total("paris")
    running.cluster.pause(0, 0)
    try:
        started = time.monotonic()
        assert running.total("paris") == before
        assert time.monotonic() - started < TIME_LIMIT_S
        assert running.states()[0] == ["down", "serving"]
    finally:
        running.cluster.pause(0, 0, paused=False)


def test_a_run_that_misses_a_replica_names_it_and_never_serves_it_stale(
    running: Running,
) -> None:
    doc_id = next(f"late-{n}" for n in range(100) if running.shards.shard_of(f"late-{n}") == 1)
    running.add_article(doc_id, "Zanzibar ferry timetable changes")
    running.cluster.kill(1, 1)
    with pytest.raises(ReplicasMissed) as raised:
        running.indexer.reindex([running.corpus])
    assert str(running.shards.replicas[1][1]) in str(raised.value)
    running.cluster.restart(1, 1)
    assert running.total("zanzibar") == 1
    assert running.states()[1] == ["serving", "stale"]
    # The only replica with the run is gone: the stale one is not served instead.
    running.cluster.kill(1, 0)
    _unavailable_within_the_limit(running, "zanzibar")
    running.cluster.restart(1, 0)
    # The next run catches it up first (what it missed, from its peer), then writes it.
    running.add_article("later", "Kilimanjaro weather report")
    running.indexer.reindex([running.corpus])
    running.cluster.kill(1, 0)
    assert running.total("zanzibar") == running.total("kilimanjaro") == 1
    assert running.states()[1] == ["down", "serving"]


def _replica(running: Running, shard: int, replica: int) -> dict[str, str]:
    """Every document of one replica: its id and its stored data."""
    db = xapian.remote_open(*_address(running, shard, replica), 10_000)
    try:
        return {
            json.loads(db.get_document(item.docid).get_data())["id"]: db.get_document(item.docid)
            .get_data()
            .decode()
            for item in db.postlist("")
        }
    finally:
        db.close()


def _address(running: Running, shard: int, replica: int) -> tuple[str, int]:
    where = running.shards.replicas[shard][replica]
    return where.host, where.port


def test_a_replica_that_missed_runs_catches_up_from_its_peer_without_a_full_rebuild(
    running: Running,
) -> None:
    """Down while articles were added, changed and deleted, it takes what it missed
    from its peer (not a rewrite), then holds and answers what its peer does."""
    on_shard_0 = [f"late-{n}" for n in range(200) if running.shards.shard_of(f"late-{n}") == 0]
    running.cluster.kill(0, 1)
    for doc_id in on_shard_0[:3]:
        running.add_article(doc_id, f"Zanzibar ferry timetable {doc_id}")
    with pytest.raises(ReplicasMissed):
        running.indexer.reindex([running.corpus])
    lines = (running.corpus / "wire.jsonl").read_text().splitlines()
    changed = [line.replace("timetable", "schedule") for line in lines if on_shard_0[0] in line]
    kept = [line for line in lines if on_shard_0[0] not in line and on_shard_0[1] not in line]
    (running.corpus / "wire.jsonl").write_text("\n".join(kept + changed) + "\n")
    with pytest.raises(ReplicasMissed):
        running.indexer.reindex([running.corpus])
    running.cluster.restart(0, 1)
    assert _replica(running, 0, 1) != _replica(running, 0, 0)
    assert running.states()[0] == ["serving", "stale"]
    before = [_shown(running.service, params) for params in REQUESTS]
    assert running.store.catch_up() == []
    assert _replica(running, 0, 1) == _replica(running, 0, 0)
    running.cluster.kill(0, 0)
    assert [_shown(running.service, params) for params in REQUESTS] == before
    assert running.states()[0] == ["down", "serving"]
    assert running.total("zanzibar schedule") == 1 and running.total("zanzibar") == 2


def test_a_run_still_writing_leaves_every_shard_served(running: Running) -> None:
    """Replicas are written one after another; until the run has written them all,
    those it has not reached yet are not stale, so no shard goes unserved."""
    before = running.total("paris")
    newest = cluster.newest_commit(running.shards)
    cluster._write_replica(running.shards.replicas[0][0], [], [], False, newest + 1)
    assert running.total("paris") == before
    assert "stale" not in [state for shard in running.states() for state in shard]


def test_one_writer_at_a_time(running: Running) -> None:
    replica = running.shards.replicas[0][0]
    writer = xapian.remote_open_writable(replica.host, replica.port)
    try:
        with pytest.raises(LockHeld, match=str(replica)):
            running.indexer.reindex([running.corpus], full=True)
    finally:
        writer.close()


def test_replicas_of_an_older_format_serve_then_are_rebuilt_in_full(running: Running) -> None:
    """Replicas written before people had a value slot (stamped with the older format
    here) keep their people facet, and the next run rewrites them all."""
    people = {"q": "Paris Declaration", "facets": "people"}
    expected = running.service.search(parse_request(people)).facets
    assert expected["people"]
    for replica in (r for shard in running.shards.replicas for r in shard):
        db = xapian.remote_open_writable(replica.host, replica.port)
        try:
            for item in db.postlist(""):
                doc = db.get_document(item.docid)
                if doc.get_value(analysis.PEOPLE_SLOT):
                    doc.remove_value(analysis.PEOPLE_SLOT)
                    db.replace_document(item.docid, doc)
            db.set_metadata(analysis.FORMAT_KEY, "2")  # and so no slot is read
            db.commit()
        finally:
            db.close()
    assert not running.store.current_format()
    # A server of this version started over them.
    index = running.store.root
    served = SearchService(ShardedStore(index, running.shards, "xapian", TIME_LIMIT_S))
    try:
        assert served.search(parse_request(people)).facets == expected
    finally:
        served.close()
    assert running.indexer.reindex([running.corpus]).full
    assert running.store.current_format()
    assert running.service.search(parse_request(people)).facets == expected

"""A real gunicorn over a real 2-shard x 2-replica cluster of ``xapian-tcpsrv``, under
a bounded load: replicas die, a whole shard dies and comes back, a full reindex runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from search import phases
from search.engines.xapian.servers import LocalCluster
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.stores.sharded import ShardedStore
from tests.conftest import Server, make_corpus, metric, wait_for

TIME_LIMIT_S = 2.0
QUERIES = ["paris", "budget", "election", "declaration", "labour", "minister"]


class Load:
    """A few clients sending searches, a bounded number each (or until stopped); every
    non-200 answer or transport error is a failed request."""

    def __init__(self, server: Server, clients: int = 3, requests: int = 120) -> None:
        self.server = server
        self.failures: list[str] = []
        self.answered = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self._client, args=(n, requests)) for n in range(clients)
        ]
        for thread in self.threads:
            thread.start()

    def _client(self, number: int, requests: int) -> None:
        for n in range(requests):
            if self._stopped.is_set():
                return
            q = QUERIES[(number + n) % len(QUERIES)]
            try:
                status, body = self.server.get("/search", {"q": q, "facets": "people"})
                if status != 200:
                    self.failures.append(f"{status} {body}")
            except Exception as exc:  # a transport error is a failed request too
                self.failures.append(repr(exc))
            with self._lock:
                self.answered += 1

    def wait_until_answered(self, count: int, timeout_s: float = 60.0) -> None:
        wait_for(lambda: self.answered >= count, timeout_s, f"{count} answered searches")

    def finish(self, stop: bool = False) -> int:
        """Wait for the clients (told to stop first, with ``stop``); how many answered."""
        if stop:
            self._stopped.set()
        for thread in self.threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in self.threads)
        return self.answered


@pytest.fixture
def served(
    tmp_path: Path, finder: PersonFinder
) -> Iterator[tuple[LocalCluster, Server, Indexer, Path]]:
    cluster = LocalCluster(tmp_path / "cluster", shards=2, replicas=2)
    shards = cluster.start()
    corpus = make_corpus(tmp_path / "corpus")
    indexer = Indexer(ShardedStore(tmp_path / "index", shards, "xapian", TIME_LIMIT_S), finder)
    indexer.reindex([corpus])
    server = Server(
        tmp_path / "index", SEARCH_SHARDS=str(shards), SEARCH_TIME_LIMIT_S=str(TIME_LIMIT_S)
    )
    yield cluster, server, indexer, corpus
    server.stop()
    cluster.stop()


def test_replicas_die_a_shard_dies_and_returns_and_a_full_reindex_swaps(
    served: tuple[LocalCluster, Server, Indexer, Path],
) -> None:
    cluster, server, indexer, corpus = served
    # One replica of each shard dies mid-load (each the one serving): no request fails.
    load = Load(server)
    load.wait_until_answered(40)
    cluster.kill(0, 0)
    cluster.kill(1, 0)
    assert load.finish() == 360 and load.failures == []
    assert metric(server, "search_shard_failovers_total") >= 2
    states = [[r["state"] for r in s["replicas"]] for s in server.get("/stats")[1]["shards"]]
    assert states == [["down", "serving"], ["down", "serving"]]

    # Shard 0 loses its last replica: a clear 503 within the time limit, never a hang.
    cluster.kill(0, 1)
    started = time.monotonic()
    status, body = server.get("/search", {"q": "paris"})
    assert time.monotonic() - started < TIME_LIMIT_S
    assert status == 503 and body["error"]["code"] == "shard_unavailable"
    assert "shard 0" in body["error"]["message"]
    assert server.get("/ready")[0] == 503

    # It comes back: answers again, the service untouched.
    cluster.restart(0, 1)
    wait_for(lambda: server.get("/search", {"q": "paris"})[0] == 200, 10.0, "shard 0 back")
    cluster.restart(0, 0)
    cluster.restart(1, 0)

    # A full reindex during the load: the replicas commit one after another, and the
    # load goes on across the moment the first publishes: at least 100 requests are
    # answered from just before it commits until the next replica commits, none fails.
    load = Load(server, requests=5000)
    load.wait_until_answered(20)
    answered_at_commit: list[int] = []

    def hold_after_the_first_commit(phase: str) -> None:
        if phase == "committing":
            if len(answered_at_commit) == 1:
                load.wait_until_answered(answered_at_commit[0] + 100)
            answered_at_commit.append(load.answered)

    with phases.listening(hold_after_the_first_commit):
        indexer.reindex([corpus], full=True)
    load.finish(stop=True)
    assert len(answered_at_commit) == 4  # every replica of both shards committed
    assert answered_at_commit[1] - answered_at_commit[0] >= 100
    assert load.failures == []
    status, body = server.get("/search", {"q": "paris"})
    assert status == 200 and body["total"] >= 2


def test_pushed_articles_reach_every_replica_of_their_shard(
    served: tuple[LocalCluster, Server, Indexer, Path],
) -> None:
    """Pushed with wait=true, 50 articles are searchable; then each replica in turn is
    the only one left of its shard, and every article is still found."""
    from search.keys import Keys
    from tests.http.test_writes import article, call, found

    cluster, server, indexer, _ = served
    _, key = Keys(indexer.store.root).create("write")
    status, answer = call(server, "POST", "/documents?wait=true",
                          [article(n) for n in range(50)], key)  # fmt: skip
    assert status == 200 and answer["searchable"] and not answer["errors"]
    assert found(server, "zanzibarite") == 50
    for alive, dead in ((1, 0), (0, 1)):
        cluster.kill(0, dead)
        cluster.kill(1, dead)
        wait_for(lambda: found(server, "zanzibarite") == 50, 10, f"replicas {alive} alone")
        cluster.restart(0, dead)
        cluster.restart(1, dead)


def test_a_replica_down_while_1000_articles_are_pushed_catches_up_and_answers_as_its_peer(
    served: tuple[LocalCluster, Server, Indexer, Path],
) -> None:
    """One replica is down while 1,000 articles are pushed and one is deleted; back,
    the idle writer catches it up from its peer (no ``--full``), and alone it gives
    the answers its peer gave."""
    from search.engines.xapian.cluster import replica_states
    from search.keys import Keys
    from tests.http.test_writes import article, call, found

    cluster, server, indexer, _ = served
    shards = cluster.shards
    _, key = Keys(indexer.store.root).create("write")
    cluster.kill(0, 1)
    status, answer = call(server, "POST", "/documents?wait=true",
                          [article(n) for n in range(1000)], key)  # fmt: skip
    assert status == 200 and answer["searchable"] and not answer["errors"]
    gone = next(f"pushed/{n}" for n in range(1000) if shards.shard_of(f"pushed/{n}") == 0)
    assert call(server, "DELETE", f"/documents/{gone}?wait=true", key=key)[0] == 200
    wait_for(lambda: found(server, "zanzibarite") == 999, 10, "every worker past the delete")

    def commits() -> list[int | None]:
        return [state.commit for state in replica_states(shards) if state.shard == 0]

    assert commits()[1] is None  # down through every write
    cluster.restart(0, 1)
    wait_for(lambda: commits()[0] == commits()[1], 30, "the replica caught up")
    asked = [{"q": "zanzibarite", "per_page": "100", "facets": "people,month"},
             {"q": "harbour story", "page": "3"}, {"q": "", "sort": "date"}, {"q": "paris"}]  # fmt: skip
    before = [server.get("/search", params)[1] for params in asked]
    cluster.kill(0, 0)
    wait_for(lambda: found(server, "zanzibarite") == 999, 10, "the caught-up replica alone")
    after = [server.get("/search", params)[1] for params in asked]
    for answer in before + after:
        answer.pop("took_ms")
    assert after == before
    cluster.restart(0, 0)


@pytest.mark.parametrize("phase", phases.WRITER_PHASES)
def test_acknowledged_pushes_survive_a_kill_of_every_process_around_the_commit_on_shards(
    tmp_path: Path, served: tuple[LocalCluster, Server, Indexer, Path], phase: str
) -> None:
    """The kill test of one index (tests/http/test_writes.py) on the 2x2 cluster: the
    writer is stopped before, during (a replica's transaction) and after the commit."""
    from tests.http.test_writes import kill_around_the_commit

    cluster, server, indexer, _ = served
    server.stop()
    kill_around_the_commit(
        indexer.store.root, tmp_path / "reached", phase, SEARCH_SHARDS=str(cluster.shards),
        SEARCH_TIME_LIMIT_S=str(TIME_LIMIT_S),
    )  # fmt: skip

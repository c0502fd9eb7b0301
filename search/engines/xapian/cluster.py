"""A Xapian index spread over shards of replicas, each served by ``xapian-tcpsrv``.

Reads use Xapian's remote backend: each shard is opened (``remote_open``) on the
first of its replicas that answers with the cluster's newest commit, and the
shards are searched as one database (``add_database``), so term statistics are
global and every search is the single-database reader's (``XapianReader``). A
replica that stops answering mid-request is replaced by the next one of its shard
and the request runs again within its deadline; a shard with no replica left is
503 ``shard_unavailable``, never a partial answer.

Writes go through the same servers (``xapian-tcpsrv --writable``,
``remote_open_writable``): the reindex writes every replica itself, one
transaction each, so a replica holds all of a run's changes or none of them. Each
run stamps its number into the metadata of every replica it writes
(``search.commit``); a replica that missed a run (down, or added later) has a lower
number, is stale, and is never served until a full rebuild rewrites it. Xapian's
remote servers allow one writer per database, so two reindexes cannot interleave.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import xapian

from search.deadline import Deadline
from search.engines.base import Failover
from search.engines.xapian import analysis as a
from search.engines.xapian.reader import XapianReader, stored_records
from search.engines.xapian.writer import article_of, format_of, stored_doc_of, transaction
from search.errors import LockHeld, ShardUnavailable
from search.model import Article, EngineQuery, IndexDoc, Match, Matches, StoredDoc
from search.shards import Replica, Shards

T = TypeVar("T")
COMMIT_KEY = "search.commit"
# The last run that wrote every replica it could: set in a second pass over them.
COMPLETE_KEY = "search.complete"
BUILT_KEY = "search.built_at"
# A replica that answers at all greets within milliseconds; one that does not (down,
# or hung) is given up on after this, so that failing over fits in a request.
PROBE_TIMEOUT_S = 0.25
# Writes are not bounded by a request's deadline.
WRITE_TIMEOUT_S = 600.0
# A request retries on another replica at most this often (and within its deadline).
ATTEMPTS = 3


@dataclass
class ReplicaState:
    """What one replica answered when the cluster was last opened."""

    shard: int
    replica: Replica
    state: str  # serving, standby, stale or down
    commit: int | None = None
    error: str | None = None
    complete: int = 0
    format: int = 0

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"replica": str(self.replica), "state": self.state}
        if self.commit is not None:
            shown["commit"] = self.commit
        if self.error:
            shown["error"] = self.error
        return shown


def _open(replica: Replica, timeout_s: float, writable: bool = False) -> xapian.Database:
    """A connection whose every call gives up after ``timeout_s`` (opening included:
    a hung server accepts the connection but never greets)."""
    opener = xapian.remote_open_writable if writable else xapian.remote_open
    return opener(
        replica.host,
        replica.port,
        int(timeout_s * 1000),
        int(min(timeout_s, PROBE_TIMEOUT_S) * 1000),
    )


def _commit_of(db: xapian.Database, key: str = COMMIT_KEY) -> int:
    value = db.get_metadata(key)
    return int(value) if value else 0


def _probe(shard: int, replica: Replica) -> ReplicaState:
    """The replica's state, on a connection of its own with a short timeout."""
    try:
        db = _open(replica, PROBE_TIMEOUT_S)
    except xapian.Error as exc:
        return ReplicaState(shard, replica, "down", error=_reason(exc))
    try:
        return ReplicaState(
            shard,
            replica,
            "standby",
            _commit_of(db),
            complete=_commit_of(db, COMPLETE_KEY),
            format=format_of(db),
        )
    except xapian.Error as exc:
        return ReplicaState(shard, replica, "down", error=_reason(exc))
    finally:
        db.close()


def replica_states(shards: Shards) -> list[ReplicaState]:
    """Every replica's state, shard by shard."""
    return [
        _probe(number, replica)
        for number, replicas in enumerate(shards.replicas)
        for replica in replicas
    ]


def _reason(exc: xapian.Error) -> str:
    return str(exc).split(" (context:")[0]


class ClusterReader(XapianReader):
    """All shards as one snapshot, failing over between replicas."""

    def __init__(
        self, shards: Shards, timeout_s: float, on_failover: Failover | None = None
    ) -> None:
        self.shards = shards
        self.timeout_s = timeout_s
        self.on_failover = on_failover
        self.states: list[ReplicaState] = []
        self.missing: list[int] = []
        self.commit = 0
        self._handles: list[xapian.Database] = []  # each shard's, as in ``db``
        self.db = xapian.Database()
        self._connect()

    def _connect(self) -> None:
        """Serve each shard from its first replica that is not stale (behind the last
        completed run: a run still writing leaves every replica servable, each shard
        whole at the run before or this one); a replica served before and not now is
        a failover. A serving connection's calls give up after half the time limit, so
        a hung replica leaves time for the next one."""
        before = self._serving()
        states = replica_states(self.shards)
        completed = max((state.complete for state in states), default=0)
        combined = xapian.Database()
        handles: list[xapian.Database] = []
        missing: list[int] = []
        for number in range(len(self.shards)):
            chosen = None
            for state in (s for s in states if s.shard == number and s.state != "down"):
                if (state.commit or 0) < completed:
                    state.state = "stale"
                elif chosen is None:
                    try:
                        chosen = _open(state.replica, self.timeout_s / 2)
                        state.state = "serving"
                    except xapian.Error as exc:
                        state.state, state.error = "down", _reason(exc)
            if chosen is None:
                missing.append(number)
            else:
                combined.add_database(chosen)
                handles.append(chosen)
        self.db.close()
        self.db, self.states, self.missing = combined, states, missing
        self.commit = _newest(states)
        self._handles = handles
        self._forget()
        # The probe read each replica's format; the slots used are those every shard has.
        self.format = min((state.format for state in self._served_states()), default=0)
        for lost, replica in sorted(before - self._serving(), key=str):
            if self.on_failover is not None:
                self.on_failover(lost, str(replica))

    def _served_states(self) -> list[ReplicaState]:
        return [state for state in self.states if state.state == "serving"]

    def _serving(self) -> set[tuple[int, Replica]]:
        return {(s.shard, s.replica) for s in self.states if s.state == "serving"}

    def _require(self) -> None:
        """Raises ShardUnavailable while a shard has no replica to serve it."""
        if self.missing:
            self._connect()
        if self.missing:
            raise ShardUnavailable(
                "; ".join(
                    f"shard {number}: no replica answers with the latest articles ("
                    + ", ".join(f"{s.replica} {s.state}" for s in self.states if s.shard == number)
                    + ")"
                    for number in self.missing
                )
            )

    def _failing_over(self, call: Callable[[], T], deadline: Deadline) -> T:
        """``call``, again on other replicas when one stops answering."""
        self._require()
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return call()
            except (xapian.NetworkError, xapian.DatabaseModifiedError) as exc:
                if attempt == ATTEMPTS or deadline.passed():
                    raise ShardUnavailable(f"replicas stopped answering: {_reason(exc)}") from exc
                before = self._serving()
                self._connect()
                self._require()
                if isinstance(exc, xapian.NetworkTimeoutError) and self._serving() == before:
                    # Every replica still answers: the search itself was too slow.
                    raise deadline.timeout() from exc
        raise AssertionError("unreachable")

    def _deadline(self) -> Deadline:
        return Deadline.after(self.timeout_s)

    def search(self, query: EngineQuery, deadline: Deadline) -> Matches:
        run = super().search
        return self._failing_over(lambda: run(query, deadline), deadline)

    def matching(
        self, queries: Sequence[EngineQuery], ids: Sequence[str], deadline: Deadline
    ) -> list[set[str]]:
        run = super().matching
        return self._failing_over(lambda: run(queries, ids, deadline), deadline)

    def doc_frequency(self, form: str) -> int:
        run = super().doc_frequency
        return self._failing_over(lambda: run(form), self._deadline())

    def spellings(self, word: str, deadline: Deadline) -> list[str]:
        run = super().spellings
        return self._failing_over(lambda: run(word, deadline), deadline)

    def completion_keys(self, kind: str, prefix: str, most: int) -> list[tuple[str, int]]:
        run = super().completion_keys
        return self._failing_over(lambda: run(kind, prefix, most), self._deadline())

    def document(self, doc_id: str) -> Article | None:
        run = super().document
        return self._failing_over(lambda: run(doc_id), self._deadline())

    def holding(self, ids: Sequence[str]) -> set[str]:
        run = super().holding
        return self._failing_over(lambda: run(ids), self._deadline())

    def similar(self, article: Article, limit: int) -> list[Match]:
        run = super().similar
        return self._failing_over(lambda: run(article, limit), self._deadline())

    def doc_count(self) -> int:
        run = super().doc_count
        return self._failing_over(run, self._deadline())

    def stored_docs(self) -> list[StoredDoc]:
        run = super().stored_docs
        return self._failing_over(run, Deadline.after(max(self.timeout_s, 600.0)))

    def stats(self) -> dict[str, Any]:
        built = 0.0
        with contextlib.suppress(xapian.Error, ValueError):
            built = float(self.db.get_metadata(BUILT_KEY) or 0)
        return {
            "commit": self.commit,
            "built_at": built,
            "shards": [
                {
                    "shard": number,
                    "replicas": [s.as_dict() for s in self.states if s.shard == number],
                }
                for number in range(len(self.shards))
            ],
        }

    def is_current(self) -> bool:
        """Whether every shard is served and none has a newer commit; a shard that
        was missing is looked for again, so the service recovers by itself."""
        if self.missing:
            return False
        try:
            self.db.reopen()  # the remote backend cannot tell whether anything changed
            return all(
                _commit_of(handle) == state.commit
                for handle, state in zip(self._handles, self._served_states(), strict=True)
            )
        except xapian.Error:
            return False

    def refreshed(self) -> ClusterReader:
        self._connect()
        return self

    def close(self) -> None:
        self.db.close()


def _shard_newest(states: Iterable[ReplicaState], shard: int) -> int:
    """The newest run a replica of ``shard`` that answers holds."""
    return max((s.commit or 0 for s in states if s.shard == shard and s.state != "down"), default=0)


def _newest(states: Iterable[ReplicaState]) -> int:
    return max((state.commit or 0 for state in states), default=0)


def newest_commit(shards: Shards) -> int:
    """The highest run number any replica holds (0 for a cluster never written)."""
    return _newest(replica_states(shards))


def is_current_format(shards: Shards) -> bool:
    """Whether the replicas holding the newest run were written in this version's
    format (an older one is served as it is until a full rebuild)."""
    states = replica_states(shards)
    newest = _newest(states)
    return all(state.format == a.FORMAT for state in states if newest and state.commit == newest)


def write(
    shards: Shards,
    delete_ids: Iterable[str],
    articles: Iterable[IndexDoc],
    full: bool,
) -> list[tuple[int, str]]:
    """Write one run into every replica that can take it; what could not be written
    (each its shard, and the replica and the reason).

    A full run makes each replica hold exactly ``articles`` of its shard (stale
    replicas included, so they catch up); an incremental one first catches up each
    replica behind its shard's newest (``_catch_up``), then deletes and adds in the
    replicas that hold their shard's newest run, unless that misses a completed run:
    a run killed before it completed may have committed some replicas and not
    others, and the next run brings the others to them before it writes.

    Raises:
        LockHeld: another reindex is writing a replica.
    """
    states = replica_states(shards)
    newest = _newest(states)
    completed = max((state.complete for state in states), default=0)
    behind = {} if full else _catch_up(states)
    current = {shard: _shard_newest(states, shard) for shard in range(len(shards))}
    per_shard: list[list[IndexDoc]] = [[] for _ in shards.replicas]
    for article, minhash in articles:
        per_shard[shards.shard_of(article.id)].append((article, minhash))
    deletions: list[list[str]] = [[] for _ in shards.replicas]
    for doc_id in delete_ids:
        deletions[shards.shard_of(doc_id)].append(doc_id)
    missed: list[tuple[int, str]] = []
    written = []
    for state in states:
        where = f"{state.replica} (shard {state.shard})"
        if state.state == "down":
            missed.append((state.shard, f"{where}: {state.error}"))
        elif not full and (state.commit or 0) < max(current[state.shard], completed):
            missed.append((state.shard, f"{where}: {behind.get(state.replica, 'stale')}"))
        else:
            try:
                _write_replica(
                    state.replica, deletions[state.shard], per_shard[state.shard], full,
                    newest + 1,
                )  # fmt: skip
                written.append(state.replica)
            except xapian.DatabaseLockError as exc:
                raise LockHeld(f"another reindex is writing {where}; wait for it") from exc
            except xapian.Error as exc:
                missed.append((state.shard, f"{where}: {_reason(exc)}"))
    # Only now do replicas that missed this run count as stale.
    for replica in written:
        with contextlib.suppress(xapian.Error):
            _mark_complete(replica, newest + 1)
    return missed


def catch_up(shards: Shards) -> list[str]:
    """Bring each stale replica that answers up to its shard's newest run; what could
    not be (each a replica and the reason)."""
    states = replica_states(shards)
    behind = _catch_up(states)
    return [
        f"{state.replica} (shard {state.shard}): {behind[state.replica]}"
        for state in states
        if state.replica in behind
    ]


def can_catch_up(shards: Shards) -> bool:
    """Whether a replica that answers missed runs a peer of its shard holds."""
    copies, _ = _plan(replica_states(shards))
    return bool(copies)


def _plan(
    states: list[ReplicaState],
) -> tuple[list[tuple[ReplicaState, ReplicaState]], dict[Replica, str]]:
    """Each replica that answers behind its shard's newest run, paired with a peer
    that holds it to copy from; and why the others cannot catch up so: a replica of
    an older format waits for a full rebuild, and so does a shard whose newest
    replica that answers misses a completed run (``search.complete``)."""
    completed = max((state.complete for state in states), default=0)
    copies, failed = [], {}
    for shard in {state.shard for state in states}:
        peers = [s for s in states if s.shard == shard and s.state != "down"]
        newest = _shard_newest(states, shard)
        source = next(
            (
                s
                for s in peers
                if s.commit == newest and s.format == a.FORMAT and newest >= completed
            ),
            None,
        )
        for target in (s for s in peers if (s.commit or 0) < newest):
            if source is None or target.format not in (a.FORMAT, 0):
                failed[target.replica] = "stale, it needs a full rebuild to catch up"
            else:
                copies.append((source, target))
    return copies, failed


def _catch_up(states: list[ReplicaState]) -> dict[Replica, str]:
    """Copy into each stale replica what it missed from its peer (``_plan``; the
    ``states`` of those caught up then say so); why the others could not.

    A replica that was down while runs were written missed them. Every document
    carries the run that wrote it (``RUN_SLOT``), so the stale one takes from its
    peer the documents written after its own last run, deletes those its peer no
    longer has, and takes its peer's run numbers, in one transaction: it holds what
    the peer holds, and never half of it.

    Raises:
        LockHeld: another reindex is writing a replica.
    """
    copies, failed = _plan(states)
    for source, target in copies:
        try:
            _copy_missed(source, target)
        except xapian.DatabaseLockError as exc:
            where = f"{target.replica} (shard {target.shard})"
            raise LockHeld(f"another reindex is writing {where}; wait for it") from exc
        except xapian.Error as exc:
            failed[target.replica] = f"stale, and could not catch up: {_reason(exc)}"
            continue
        target.commit, target.complete, target.format = source.commit, source.complete, a.FORMAT
    return failed


def _copy_missed(source: ReplicaState, target: ReplicaState) -> None:
    """One transaction on ``target``: the documents ``source`` has had written since
    ``target``'s last run, without those it no longer has, at its run numbers."""
    theirs = _open(source.replica, WRITE_TIMEOUT_S)
    try:
        ours = _open(target.replica, WRITE_TIMEOUT_S, writable=True)
        try:
            enquire = xapian.Enquire(theirs)
            enquire.set_weighting_scheme(xapian.BoolWeight())
            since = xapian.sortable_serialise((target.commit or 0) + 1)
            enquire.set_query(xapian.Query(xapian.Query.OP_VALUE_GE, a.RUN_SLOT, since))
            written = [
                (article_of(item.document.get_data())[0],
                 stored_doc_of(item.document.get_value(a.STORED_SLOT)).minhash)
                for item in enquire.get_mset(0, theirs.get_doccount())
            ]  # fmt: skip
            kept = {record.id for record in stored_records(theirs)}
            gone = [record.id for record in stored_records(ours) if record.id not in kept]
            metadata = {
                a.FORMAT_KEY: str(a.FORMAT),
                COMMIT_KEY: str(source.commit),
                COMPLETE_KEY: str(source.complete),
                BUILT_KEY: theirs.get_metadata(BUILT_KEY).decode("utf-8"),
            }
            transaction(ours, gone, written, metadata, run=source.commit)
        finally:
            with contextlib.suppress(xapian.Error):
                ours.close()
    finally:
        theirs.close()


def _mark_complete(replica: Replica, commit: int) -> None:
    db = _open(replica, WRITE_TIMEOUT_S, writable=True)
    try:
        db.set_metadata(COMPLETE_KEY, str(commit))
        db.commit()
    finally:
        db.close()


def _write_replica(
    replica: Replica,
    delete_ids: list[str],
    articles: list[IndexDoc],
    full: bool,
    commit: int,
) -> None:
    """One transaction on one replica: all of it is committed, or none."""
    db = _open(replica, WRITE_TIMEOUT_S, writable=True)
    try:
        deletions = list(delete_ids)
        if full:  # the replica keeps exactly this run's articles
            keep = {article.id for article, _ in articles}
            stored = (item.term.decode("utf-8")[len(a.ID) :] for item in db.allterms(a.ID))
            deletions += [doc_id for doc_id in stored if doc_id not in keep]
        metadata = {
            a.FORMAT_KEY: str(a.FORMAT), COMMIT_KEY: str(commit), BUILT_KEY: str(time.time()),
        }  # fmt: skip
        transaction(db, deletions, articles, metadata, run=commit)
    finally:
        with contextlib.suppress(xapian.Error):
            db.close()

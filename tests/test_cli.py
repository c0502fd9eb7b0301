"""The reindex command as an operator runs it, when things go wrong: killed runs,
a full disk, hostile files. Real processes, real files, real exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore
from tests.conftest import (
    BBC,
    children,
    make_corpus,
    process_state,
    stopped_at_phase,
    wait_for,
)


def reindex(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "search.cli", "reindex", "--json", "--quiet", *map(str, args)],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def reindex_measured(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """A reindex and its peak resident memory in kB, its workers included, measured
    by a fresh parent that has no other child."""
    measure = (
        "import resource, subprocess, sys; "
        "code = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, sys.executable, "-m", "search.cli", "reindex", "--json",
         *map(str, args)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return result, int(result.stderr.strip().splitlines()[-1])


def alive(pid: int) -> bool:
    return process_state(pid) not in ("", "Z")


def search_total(index: Path, q: str) -> int:
    service = SearchService(LocalStore(index), cache_size=0)
    try:
        return service.search(parse_request({"q": q})).total
    finally:
        service.close()


@pytest.fixture
def ner_corpus(tmp_path: Path) -> Path:
    """Enough articles that NER runs in forked workers (150 BBC politics articles)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in sorted((BBC / "politics").glob("*.txt"))[:150]:
        shutil.copy(path, folder / path.name)
    return folder


def test_a_full_rebuild_killed_in_ner_takes_its_workers_and_blocks_nothing(
    tmp_path: Path, ner_corpus: Path, engine: str, finder: PersonFinder
) -> None:
    """Killed while its forked NER workers run, the run takes them with it, the old
    generation still serves, and the next run works."""
    index = tmp_path / "index"
    # The old generation, its people found once a test run (the runs under test are
    # the command's).
    Indexer(LocalStore(index), finder, engine=engine).reindex([ner_corpus])
    served = search_total(index, "blair")
    command = [sys.executable, "-m", "search.cli", "reindex", str(ner_corpus), "--index",
               str(index), "--full", "--jobs", "2", "--quiet"]  # fmt: skip
    run = stopped_at_phase(command, "ner", tmp_path)
    workers = children(run.pid)
    run.kill()
    run.communicate(timeout=30)
    assert len(workers) >= 2, "the kill must land while the NER workers run"
    assert run.returncode == -signal.SIGKILL
    wait_for(lambda: not any(alive(pid) for pid in workers), 10, "the NER workers to die")
    assert search_total(index, "blair") == served  # the old generation still serves
    after = reindex(ner_corpus, "--index", index, "--jobs", "1", timeout=300)
    assert after.returncode == 0, after.stderr[-2000:]
    assert json.loads(after.stdout)["documents"] == 150


def test_a_full_disk_leaves_the_old_index_serving_and_the_next_run_succeeds(
    tmp_path: Path, small_disk: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # BBC politics articles as records with their people given: what is under test is
    # the write, not NER (which took two thirds of this test's time).
    politics = sorted((BBC / "politics").glob("*.txt"))
    for path in politics[:60]:
        as_record(path, corpus)
    index = small_disk / "index"
    assert reindex(corpus, "--index", index, "--jobs", "1").returncode == 0
    served = search_total(index, "labour")
    store = LocalStore(index)
    generation = store.current_name()
    size = store.size_bytes(str(generation))
    filler = small_disk / "filler"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"\0" * max(0, free - 200_000))  # leave too little for the run
    for path in politics[60:300]:
        as_record(path, corpus)
    failed = reindex(corpus, "--index", index, "--jobs", "1")
    assert failed.returncode == 2, failed.stdout[-2000:]
    message = failed.stderr.strip()
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    assert "No space left on device" in message
    assert search_total(index, "labour") == served
    assert store.size_bytes(str(generation)) <= size + 4096  # nothing orphaned
    filler.unlink()
    after = reindex(corpus, "--index", index, "--jobs", "1")
    assert after.returncode == 0, after.stderr[-2000:]
    assert json.loads(after.stdout)["documents"] == 300


def as_record(path: Path, corpus: Path) -> None:
    """A BBC article (its first line the title) as a JSON record, no people named."""
    title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
    record = {"id": f"politics/{path.stem}", "title": title, "body": body, "people": []}
    (corpus / f"{path.stem}.json").write_text(json.dumps(record))


def gzip_bomb(path: Path, inflated_bytes: int) -> None:
    """A small .gz that inflates to ``inflated_bytes`` of zeros, written as a stream."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    with path.open("wb") as out:
        for _ in range(inflated_bytes // len(chunk)):
            out.write(deflate.compress(chunk))
        out.write(deflate.flush())


def test_hostile_files_are_skipped_and_the_good_ones_indexed(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")  # 15 articles in 14 files, and 3 JSONL records
    for path in sorted((BBC / "tech").glob("*.txt"))[:5]:
        shutil.copy(path, corpus / f"tech-{path.name}")
    (corpus / "huge.txt").write_text("Headline\n\n" + "word " * 220_000)
    (corpus / "deep.json").write_text("[" * 1000 + "]" * 1000)
    gzip_bomb(corpus / "bomb.json.gz", 2 << 30)
    index = tmp_path / "index"
    result, peak_kb = reindex_measured(corpus, "--index", index, "--jobs", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    reasons = {item["path"]: item["reason"] for item in summary["skipped"]}
    assert "over the 500,000 limit" in reasons["huge.txt"]
    assert "nested too deep" in reasons["deep.json"]
    assert "inflates past" in reasons["bomb.json.gz"]
    assert summary["documents"] == summary["added"] == 22
    assert peak_kb < 1.5 * 1024 * 1024  # kilobytes: under 1.5 GB
    again = reindex(corpus, "--index", index, "--jobs", "1")
    summary = json.loads(again.stdout)
    assert summary["unchanged"] == 22 and summary["added"] == 0
    remembered = {item["path"]: item["reason"] for item in summary["skipped"]}
    assert remembered["bomb.json.gz"].endswith("(unchanged)")
    assert set(remembered) == set(reasons)


def test_search_cluster_serves_a_sharded_reindex_and_stops_its_servers(tmp_path: Path) -> None:
    """``search-cluster`` prints the spec, ``search-reindex --shards`` writes into it,
    a replica that is down is named with exit status 4, and SIGTERM stops every server."""
    cluster = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "cluster", str(tmp_path / "replicas"),
         "--shards", "2", "--replicas", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert cluster.stdout is not None
        line = cluster.stdout.readline().strip()
        assert line.startswith("SEARCH_SHARDS="), cluster.stderr.read()  # type: ignore[union-attr]
        spec = line.removeprefix("SEARCH_SHARDS=")
        assert len(spec.split(",")) == 2 and all(len(s.split("|")) == 2 for s in spec.split(","))
        corpus = make_corpus(tmp_path / "corpus")
        done = reindex(corpus, "--index", tmp_path / "index", "--shards", spec)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["documents"] == 17
        down = spec.split(",")[1].split("|")[1]
        bad = reindex(
            corpus, "--index", tmp_path / "index", "--shards", spec.replace(down, "127.0.0.1:9")
        )
        assert bad.returncode == 0  # nothing changed, nothing to write
        (corpus / "wire.jsonl").unlink()
        bad = reindex(
            corpus, "--index", tmp_path / "index", "--shards", spec.replace(down, "127.0.0.1:9")
        )
        assert bad.returncode == 4 and "127.0.0.1:9 (shard 1)" in bad.stderr
        wrong = reindex(corpus, "--index", tmp_path / "index", "--shards", "nowhere")
        assert wrong.returncode == 2 and "not host:port" in wrong.stderr
    finally:
        cluster.send_signal(signal.SIGTERM)
        cluster.communicate(timeout=30)
    assert cluster.returncode == 0
    ports = [replica.rsplit(":", 1)[1] for shard in spec.split(",") for replica in shard.split("|")]
    survivors = subprocess.run(
        ["pgrep", "-f", f"xapian-tcpsrv.*--port {ports[0]}"], capture_output=True
    )
    assert survivors.stdout == b""

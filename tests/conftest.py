"""Shared fixtures: real article files in temp dirs, real indexes on disk, real servers."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import pytest
from falcon import testing
from prometheus_client.parser import text_string_to_metric_families

from search.config import Settings
from search.http.app import create_app
from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SAMPLES = SHARED / "samples"
BBC = SHARED / "data" / "bbc-news" / "bbc"
SAMPLE_A = "000_4f06e7c685bc3fd5"
SAMPLE_B = "002_b2d6e95a1f926997"
BBC_PICKS = [f"politics/{n:03d}.txt" for n in range(1, 9)] + [
    f"business/{n:03d}.txt" for n in range(1, 5)
]

EXTRA_RECORDS = [
    {
        "id": "wire-budget",
        "title": "Chancellor sets out spring budget",
        "date": "2025-03-12",
        "people": ["Rachel Reeves", "Keir Starmer"],
        "body": "The chancellor Rachel Reeves set out a spring budget on Wednesday. "
        "Prime minister Keir Starmer said the budget would fix the foundations.",
        "url": "https://example.org/budget",
        "source": "Example Wire",
    },
    {
        "id": "wire-script",
        "title": "Security researchers warn about <script> tags",
        "date": "2025-04-02",
        "people": ["Ada Lovelace"],
        "body": "Researchers found pages that echo <script>alert('x')</script> back to readers "
        "and warned that script injection remains common on news sites.",
    },
    {
        "id": "wire-election",
        "title": "Election night in Paris",
        "date": "2024-11-05",
        "people": ["Emmanuel Macron"],
        "body": "Voters in Paris went to the polls as Emmanuel Macron watched results come in. "
        "Turnout in the capital was high, officials said.",
    },
]


# How long a test process waits for another's NER before it finds people itself.
NER_TURN_WAIT_S = 120.0


class RememberingFinder(PersonFinder):
    """The real NER, run once a test run for each distinct text: fixtures index the
    same articles again and again (the small corpus for each test that changes it,
    the BBC politics set for each engine and for several files), in each of the
    run's processes (pytest-xdist's workers), which share what they found through a
    file a text in ``shelf``."""

    def __init__(self, shelf: Path) -> None:
        super().__init__()
        self.shelf = shelf
        self.known: dict[str, list[str]] = {}
        self._holding = False
        self._waits = True  # until a wait for the turn runs out

    def people(self, texts: Sequence[str], jobs: int = 1) -> Iterator[list[str]]:
        """The people of each text, in order and as lazily as NER finds them."""
        self._recall(texts)
        unknown = any(text not in self.known for text in texts)
        with self._turn() if unknown else contextlib.nullcontext():
            self._recall(texts)  # what another process found meanwhile
            new = list(dict.fromkeys(text for text in texts if text not in self.known))
            found = zip(new, super().people(new, jobs), strict=True)
            for text in texts:
                while text not in self.known:
                    done, people = next(found)
                    self.known[done] = people
                    self._shelve(done, people)
                yield list(self.known[text])

    def _recall(self, texts: Sequence[str]) -> None:
        for text in dict.fromkeys(texts):
            if text not in self.known and (shelved := self._shelved(text)) is not None:
                self.known[text] = shelved

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """NER in one process of the run at a time: a process that needs texts another
        is finding (the politics set, wanted by files in each) waits for them rather
        than finds them too. Held once a process (a second ``people`` in it goes on);
        after ``NER_TURN_WAIT_S`` a process goes on without its turn, and from then
        on never waits (a turn held by a generator left unfinished)."""
        if self._holding:
            yield
            return
        with (self.shelf / "ner.lock").open("a") as lock:
            deadline = time.monotonic() + (NER_TURN_WAIT_S if self._waits else 0)
            while not (held := _locked(lock)) and time.monotonic() < deadline:
                time.sleep(0.05)
            self._holding, self._waits = held, self._waits and held
            try:
                yield
            finally:
                self._holding = False
                if held:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _place(self, text: str) -> Path:
        return self.shelf / f"{hashlib.sha256(text.encode()).hexdigest()}.json"

    def _shelved(self, text: str) -> list[str] | None:
        try:
            return list(json.loads(self._place(text).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    def _shelve(self, text: str, people: list[str]) -> None:
        place = self._place(text)
        partial = place.with_suffix(f".{os.getpid()}.part")
        partial.write_text(json.dumps(people), encoding="utf-8")
        os.replace(partial, place)  # whole or absent for a worker reading it


def _locked(file: IO[str]) -> bool:
    """Whether this process now holds ``file``'s exclusive lock (it does not wait)."""
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@pytest.fixture(scope="session")
def finder(tmp_path_factory: pytest.TempPathFactory) -> PersonFinder:
    """One spaCy pipeline for each process of the run (loading takes about a second)."""
    run = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run = run.parent  # the workers' folders are in the run's
    shelf = run / "people-found"
    shelf.mkdir(exist_ok=True)
    return RememberingFinder(shelf)


def make_corpus(folder: Path) -> Path:
    """The samples, a dozen BBC articles and three dated JSONL records, copied into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLES.glob("*.txt"):
        shutil.copy(sample, folder / sample.name)
    for pick in BBC_PICKS:
        target = folder / "bbc" / pick
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BBC / pick, target)
    lines = "\n".join(json.dumps(record) for record in EXTRA_RECORDS)
    (folder / "wire.jsonl").write_text(lines + "\n")
    return folder


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real corpus on disk (read-only by convention: copy it to change it)."""
    return make_corpus(tmp_path_factory.mktemp("corpus"))


ENGINES = ["whoosh", "xapian"]


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn: behaviour tests run against every engine."""
    return str(request.param)


@pytest.fixture(scope="session")
def index_dir(
    tmp_path_factory: pytest.TempPathFactory, corpus: Path, finder: PersonFinder, engine: str
) -> Path:
    """The small corpus indexed once per engine for all read-only tests."""
    path = tmp_path_factory.mktemp(f"index-{engine}") / "index"
    Indexer(LocalStore(path), finder, engine=engine).reindex([corpus])
    return path


@pytest.fixture(scope="session")
def politics_index(
    tmp_path_factory: pytest.TempPathFactory, finder: PersonFinder, engine: str
) -> Path:
    """The 417 BBC politics articles, indexed once per engine: real news, real overlaps."""
    path = tmp_path_factory.mktemp(f"politics-{engine}") / "index"
    Indexer(LocalStore(path), finder, jobs=2, engine=engine).reindex([BBC / "politics"])
    return path


@pytest.fixture
def reader(index_dir: Path) -> Iterator[Any]:
    """A reader of the shared small index, straight from the engine."""
    served = LocalStore(index_dir).open_current()
    yield served.reader
    served.reader.close()
    served.close()


@pytest.fixture(scope="session")
def service(index_dir: Path) -> Iterator[SearchService]:
    """A search service over the shared small index."""
    svc = SearchService(LocalStore(index_dir))
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def client(index_dir: Path, service: SearchService) -> testing.TestClient:
    """The app around the shared index, called in-process."""
    return testing.TestClient(create_app(Settings(index_dir=index_dir), service))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (none once it is gone)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in listed]


def process_state(pid: int) -> str:
    """The kernel's one-letter state of ``pid`` (T: stopped, Z: a zombie), '' once reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return ""


def blocked_on_a_lock(pid: int) -> bool:
    """Whether ``pid`` waits for a file lock (the kernel lists waiters with '->')."""
    waiting = (line.split() for line in Path("/proc/locks").read_text().splitlines())
    return any("->" in fields and str(pid) in fields for fields in waiting)


def metric(server: Server, name: str, **labels: str) -> float:
    """The sum of ``/metrics``' samples called ``name`` with ``labels`` (of every worker)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(server.get_text("/metrics"))
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def stopped_at_phase(
    command: list[str], phase: str, workdir: Path, timeout: float = 180
) -> subprocess.Popen[str]:
    """Start ``command`` (a reindex) and wait until it has stopped itself at ``phase``
    (``search.phases``); fails if the run ended without reaching it."""
    marker = workdir / f"reached-{phase}"
    env = dict(os.environ, SEARCH_PAUSE_AT=phase, SEARCH_PAUSE_FILE=str(marker))
    run = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: marker.exists() or run.poll() is not None, timeout, f"phase {phase}")
        assert marker.exists(), f"the run ended ({run.returncode}) before reaching {phase}"
        assert marker.read_text() == phase
        wait_for(lambda: process_state(run.pid) == "T", 10, f"the run to stop at {phase}")
    except BaseException:
        run.kill()
        run.communicate(timeout=30)
        raise
    return run


def kill_at_phase(command: list[str], phase: str, workdir: Path) -> int:
    """Run ``command``, SIGKILL it where it stopped itself at ``phase``; its status.

    The kill cannot land anywhere other than the phase it names: the run stops there
    and waits for it.
    """
    run = stopped_at_phase(command, phase, workdir)
    run.kill()
    run.communicate(timeout=30)
    return run.returncode


def get_json(url: str, timeout: float = 10.0) -> tuple[int, Any]:
    """Status and decoded JSON body of a GET, 4xx/5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Server:
    """A real ``search-serve`` (gunicorn) on a free loopback port."""

    # The servers up now: a failing test's report shows the end of each one's log.
    running: set[Server] = set()

    def __init__(
        self,
        index: Path,
        workers: int = 2,
        command: list[str] | None = None,
        log: Path | None = None,
        **env_vars: str,
    ) -> None:
        """``command`` is how ``search-serve`` is started (default: this interpreter's);
        ``log`` takes everything it prints (its access log and its errors), a
        temporary file of its own by default."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env = {
            **os.environ, "SEARCH_REFRESH_INTERVAL_S": "0.2", "SEARCH_LOG_LEVEL": "warning",
            **env_vars,
        }  # fmt: skip
        self._own_log = log is None
        if log is None:
            handle, name = tempfile.mkstemp(prefix="search-serve-", suffix=".log")
            os.close(handle)
            log = Path(name)
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [*(command or [sys.executable, "-m", "search.cli", "serve"]), "--index",
                 str(index), "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)],
                env=env, stdout=output, stderr=output,
            )  # fmt: skip
        Server.running.add(self)
        self.wait_until_ready()

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """GET ``path`` with query parameters (lists repeat), returning status and JSON."""
        query = urllib.parse.urlencode(params or {}, doseq=True)
        return get_json(f"{self.url}{path}?{query}" if query else self.url + path)

    def get_text(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=10.0) as response:
            return str(response.read().decode())

    def log_tail(self, chars: int = 6000) -> str:
        """The end of what it printed."""
        with contextlib.suppress(FileNotFoundError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Return once it answers ``/ready``; else stop it (a test that fails here
        leaves no processes behind) and fail with the end of its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail(f"server exited ({self.process.returncode})")
            try:
                if get_json(self.url + "/ready", timeout=1.0)[0] == 200:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        self._fail(f"server did not become ready in {timeout:.0f} s")

    def _fail(self, reason: str) -> NoReturn:
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"{reason}: {tail}")

    def stop(self) -> None:
        """Stop it as an operator would (SIGTERM: gunicorn lets its workers finish for
        up to its graceful timeout), and outright past that."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        Server.running.discard(self)
        if self._own_log:
            self.log.unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test's report ends with the log of each server up then (a 500's
    traceback is there, and only there)."""
    report = yield
    if report.failed:
        for running in Server.running:
            report.sections.append((f"search-serve on {running.url}", running.log_tail()))
    return report


@pytest.fixture(scope="session")
def server(index_dir: Path) -> Iterator[Server]:
    """A real gunicorn serving the shared small index."""
    running = Server(index_dir)
    yield running
    running.stop()


@dataclass
class ServedCopy:
    """The small corpus copied, indexed with one engine and served by a real gunicorn."""

    corpus: Path
    indexer: Indexer
    server: Server


@pytest.fixture
def served_copy(tmp_path: Path, finder: PersonFinder, engine: str) -> Iterator[ServedCopy]:
    """For a test that changes the corpus or the index under a running server."""
    corpus = make_corpus(tmp_path / "corpus")
    indexer = Indexer(LocalStore(tmp_path / "index"), finder, engine=engine)
    indexer.reindex([corpus])
    running = Server(tmp_path / "index")
    yield ServedCopy(corpus, indexer, running)
    running.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two shards of two real ``xapian-tcpsrv`` replicas each, on loopback."""
    from search.engines.xapian.servers import LocalCluster

    with LocalCluster(tmp_path_factory.mktemp("cluster"), shards=2, replicas=2) as running:
        yield running


@pytest.fixture(scope="session")
def sharded_index(
    cluster: Any, tmp_path_factory: pytest.TempPathFactory, corpus: Path, finder: PersonFinder
) -> Path:
    """The small corpus indexed into the cluster; returns the reindex's local folder."""
    from search.stores.sharded import ShardedStore

    path = tmp_path_factory.mktemp("sharded") / "index"
    Indexer(ShardedStore(path, cluster.shards, "xapian", 2.0), finder).reindex([corpus])
    return path


@pytest.fixture(scope="session")
def sharded_server(cluster: Any, sharded_index: Path) -> Iterator[Server]:
    """A real gunicorn serving the small corpus from the cluster."""
    running = Server(sharded_index, SEARCH_SHARDS=str(cluster.shards))
    yield running
    running.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB tmpfs: a disk that fills up (needs root, as CI has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def index_of_records(
    folder: Path, records: list[dict[str, Any]], engine: str, finder: PersonFinder
) -> LocalStore:
    """``records`` (articles as JSON objects) in a JSONL file, indexed with ``engine``."""
    source = folder / "news.jsonl"
    source.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    store = LocalStore(folder / "index")
    Indexer(store, finder, engine=engine).reindex([source])
    return store


def highlighted(service: SearchService, q: str) -> dict[str, str]:
    """Each hit of ``q``: its id and its highlighted body fragments, joined."""
    results = service.search(parse_request({"q": q})).as_dict()
    return {hit["id"]: " ".join(hit["highlights"]["body"]) for hit in results["hits"]}

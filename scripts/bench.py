"""Speed and memory of the project against raw Whoosh and a falcon ceiling, in one run.

For each corpus scale (copies of the BBC set with distinct ids) and each engine
asked at that scale, it builds an index with ``search-reindex`` (extraction and NER
included), times a no-change reindex, runs the query list in-process through
``SearchService`` (highlights on, facets off and on), then serves it with
``search-serve`` (2 workers) and loads it with wrk over loopback. Where the Whoosh
engine runs, the same run builds a raw Whoosh index of the same articles
(StemmingAnalyzer, title^2 + body, default highlighter); every server's
gunicorn+falcon ``/health`` ceiling is measured too, so every figure also prints as
a ratio, and a closing table sets the scales and engines side by side.
``--baseline REV`` also measures the in-process searches with the code of another
commit, on an index it builds of the same corpus, alternating with this code's own
(best of two each),
so a change's speed is a ratio taken in one run. Bounded: each wrk run lasts
``--seconds``. ``--first-search`` times the quick start instead:
how long a new user waits, from the reindex of the bundled corpus to a first answer.
``--push`` and ``--alerts`` measure live news instead (``bench_push``, ``bench_alerts``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import bench_alerts
import bench_corpus
import bench_ingest
from bench_push import render as render_push
from bench_push import sustained_push
from provenance import provenance
from whoosh import fields, index, qparser
from whoosh.analysis import StemmingAnalyzer

from search.config import Settings
from search.engines.xapian.servers import LocalCluster
from search.model import SearchRequest
from search.service import SearchService
from search.stores.from_settings import open_store

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
BBC = SHARED / "data" / "bbc-news" / "bbc"
SAMPLES = SHARED / "samples"
QUERIES = SHARED / "data" / "queries" / "bbc-queries.txt"
VENV_BIN = Path(sys.executable).parent
WRK_SCRIPT = """
paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def queries() -> list[str]:
    lines = (line.strip() for line in QUERIES.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


CORPUS_START, CORPUS_DAYS = dt.date(2004, 1, 1), 730


def make_corpus(folder: Path, scale: int) -> int:
    """``scale`` copies of the BBC set, each under its own folder (so ids differ),
    each article given a date header, spread over two years as a news archive's are
    (the set itself has none)."""
    count = 0
    for copy in range(scale):
        for source in sorted(BBC.glob("*/*.txt")):
            target = folder / f"copy{copy:02d}" / source.parent.name / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            day = CORPUS_START + dt.timedelta(days=count * 37 % CORPUS_DAYS)
            target.write_bytes(f"date {day.isoformat()}\n\n".encode() + source.read_bytes())
            count += 1
    return count


# Run in a fresh interpreter, so the peak is this command's own (RUSAGE_CHILDREN of
# the bench itself would keep the largest of every command run before it).
PEAK_RSS = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB, its largest process) of a command."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *command], check=True, capture_output=True, text=True
    )
    return time.perf_counter() - started, int(done.stdout.split()[-1]) // 1024


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def latencies(run_one: Callable[[str], Any], texts: list[str]) -> dict[str, float]:
    """Per-query milliseconds over the list, after one warm-up pass."""
    for text in texts:
        run_one(text)
    samples = []
    for text in texts:
        started = time.perf_counter()
        run_one(text)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def ours_in_process(settings: Settings, texts: list[str]) -> dict[str, dict[str, float]]:
    """The engine's own speed: the result cache is off but for the last row."""
    service = SearchService(open_store(settings), time_limit_s=30.0, cache_size=0)
    cached = SearchService(open_store(settings), time_limit_s=30.0)
    try:
        return {
            "ours, 3 fragments": latencies(
                lambda q: service.search(SearchRequest(q=q, suggest=False)), texts
            ),
            "ours, 3 fragments + facets": latencies(
                lambda q: service.search(
                    SearchRequest(q=q, suggest=False, facets=("people", "month"))
                ),
                texts,
            ),
            "ours, 3 fragments, recency=30d": latencies(
                lambda q: service.search(SearchRequest(q=q, suggest=False, recency_days=30.0)),
                texts,
            ),
            "ours, no highlights": latencies(
                lambda q: service.search(SearchRequest(q=q, suggest=False, highlight=False)),
                texts,
            ),
            # What a search box sends as a word is typed: its first three letters.
            "ours, /suggest (3 letters typed)": latencies(
                lambda q: service.suggest(q.split()[-1][:3] if q.split() else "", 8), texts
            ),
            "ours, repeated query (result cache)": latencies(
                lambda q: cached.search(SearchRequest(q=q, suggest=False)), texts
            ),
        }
    finally:
        service.close()
        cached.close()


# Run by this interpreter with the baseline's checkout first on the path, so that
# ``search`` and ``bench`` are the baseline's own (the editable install's finder
# comes after the path).
BASELINE_PATH = "import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/scripts']; "
BASELINE_IN_PROCESS = BASELINE_PATH + (
    "import json; from pathlib import Path; import bench; from search.config import Settings; "
    "settings = Settings(index_dir=Path(sys.argv[2])); "
    "print(json.dumps(bench.ours_in_process(settings, json.load(sys.stdin))))"
)
BASELINE_REINDEX = BASELINE_PATH + (
    "from search.cli import main; sys.exit(main(['reindex', '--quiet', *sys.argv[2:]]))"
)


@contextlib.contextmanager
def checkout(rev: str, folder: Path) -> Iterator[Path]:
    """The code of commit ``rev`` in a temporary git worktree."""
    path = folder / f"baseline-{rev}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), rev],
                   check=True)  # fmt: skip
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                       check=True)  # fmt: skip


def against_baseline(
    settings: Settings, texts: list[str], corpus: Path, engine: str, baseline: Path, rev: str
) -> dict[str, dict[str, float]]:
    """In-process figures of this code on its index and of ``baseline``'s on the
    index it builds of the same corpus (an index's analyzers may be ones the older
    code lacks), alternating, the best p50 of two runs each; the baseline's rows are
    named ``... (REV)``."""
    index = settings.index_dir.with_name(settings.index_dir.name + "-baseline")
    subprocess.run([sys.executable, "-c", BASELINE_REINDEX, str(baseline), str(corpus),
                    "--index", str(index), "--engine", engine],
                   check=True, capture_output=True)  # fmt: skip
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(2):
        for label, figures in ours_in_process(settings, texts).items():
            runs.setdefault(label, []).append(figures)
        done = subprocess.run(
            [sys.executable, "-c", BASELINE_IN_PROCESS, str(baseline), str(index)],
            input=json.dumps(texts), check=True, capture_output=True, text=True,
        )  # fmt: skip
        for label, figures in json.loads(done.stdout.splitlines()[-1]).items():
            runs.setdefault(f"{label} ({rev})", []).append(figures)
    shutil.rmtree(index)
    return {label: min(each, key=lambda f: f["p50"]) for label, each in runs.items()}


def bbc_articles(scale: int) -> Iterator[tuple[str, str, str]]:
    """(id, title, body) as a plain reader would split a BBC file: first line is the title."""
    for copy in range(scale):
        for source in sorted(BBC.glob("*/*.txt")):
            text = source.read_text(encoding="latin-1")
            title, _, body = text.strip().partition("\n")
            yield f"copy{copy}/{source.parent.name}/{source.stem}", title, body.strip()


def raw_whoosh(folder: Path, scale: int, texts: list[str]) -> dict[str, Any]:
    """The baseline: Whoosh as its docs show it, no extraction, default highlighter."""
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=fields.TEXT(analyzer=StemmingAnalyzer(), stored=True),
        body=fields.TEXT(analyzer=StemmingAnalyzer(), stored=True),
    )
    raw = index.create_in(str(folder), schema)
    started = time.perf_counter()
    writer = raw.writer(limitmb=256)
    count = 0
    for doc_id, title, body in bbc_articles(scale):
        writer.add_document(id=doc_id, title=title, body=body)
        count += 1
    writer.commit()
    rate = count / (time.perf_counter() - started)
    parser = qparser.MultifieldParser(["title", "body"], schema, fieldboosts={"title": 2.0})
    with raw.searcher() as searcher:

        def search(q: str, highlight: bool) -> None:
            for hit in searcher.search(parser.parse(q), limit=10):
                if highlight:
                    hit.highlights("body", top=3)

        return {
            "docs_per_s": rate,
            "raw Whoosh, default highlighter": latencies(lambda q: search(q, True), texts),
            "raw Whoosh, no highlights": latencies(lambda q: search(q, False), texts),
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """``search-serve`` with 2 workers on a free loopback port."""

    def __init__(self, settings: Settings, cache_size: int, worker: str | None = None) -> None:
        """``worker`` is a gunicorn worker class other than the one served by default."""
        self.url = f"http://127.0.0.1:{free_port()}"
        env = dict(os.environ, SEARCH_LOG_LEVEL="warning", SEARCH_RESULT_CACHE=str(cache_size))
        if worker:
            env["SEARCH_WORKER_CLASS"] = worker
        if settings.shards:
            env["SEARCH_SHARDS"] = settings.shards
        self.process = subprocess.Popen(
            [str(VENV_BIN / "search-serve"), "--index", str(settings.index_dir),
             "--bind", self.url.removeprefix("http://"), "--workers", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("search-serve did not become ready")

    def worker_memory_mb(self) -> list[dict[str, float]]:
        """Each worker's RSS, and its own (anonymous) memory: Whoosh maps the index
        files, so RSS also counts index pages shared with the page cache."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        sizes = []
        for pid in children.read_text().split():
            fields = {}
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                name, value = line.split(":", 1)
                fields[name] = int(value.split()[0]) / 1024
            sizes.append({"rss": fields["Rss"], "heap": fields["Anonymous"], "pss": fields["Pss"]})
        return sizes

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def wrk(url: str, paths: list[str], seconds: int, folder: Path) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) of wrk cycling through ``paths``: the
    better of two runs. gunicorn's threaded workers keep each keep-alive connection
    they accept, and which worker accepts wrk's 16 is luck: one worker holding most
    of them can halve a figure (measured: ``/health`` at 2,150 or 7,775 req/s)."""
    listing = folder / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = folder / "paths.lua"
    script.write_text(WRK_SCRIPT % listing)
    runs = []
    for _ in range(2):
        done = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), url],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        runs.append(parse_wrk(done.stdout))
    return max(runs, key=lambda run: run["rps"])


def parse_wrk(output: str) -> dict[str, float]:
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    figures: dict[str, float] = {}
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            value = parts[1]
            unit = next(u for u in ("us", "ms", "s") if value.endswith(u))
            figures["p" + parts[0].rstrip("%")] = float(value.removesuffix(unit)) * units[unit]
        elif "Non-2xx" in line or "Socket errors" in line:
            figures["errors"] = figures.get("errors", 0.0) + 1
    return figures


# Cold searches served by gunicorn's own threaded worker, which search/http/worker.py
# extends so that slow clients cost a socket rather than a thread: what that costs.
THREADED = "`/search`, gunicorn's threaded worker"


def over_http(settings: Settings, texts: list[str], seconds: int, folder: Path) -> dict[str, Any]:
    """``/health`` (the ceiling) and the query list, with the result cache off, then on;
    and cold again under gunicorn's plain threaded worker."""
    search_paths = ["/search?" + urllib.parse.urlencode({"q": q}) for q in texts]
    figures: dict[str, Any] = {}
    runs = [(0, "`/search`", None), (256, "`/search` with the result cache", None),
            (0, THREADED, "gthread")]  # fmt: skip
    for cache_size, label, worker in runs:
        served = Served(settings, cache_size, worker)
        try:
            if not figures:
                figures["ceiling"] = wrk(served.url, ["/health"], seconds, folder)
            figures[label] = wrk(served.url, search_paths, seconds, folder)
            if worker is None:
                figures["worker_memory_mb"] = served.worker_memory_mb()
        finally:
            served.stop()
    return figures


def first_search(workdir: Path) -> dict[str, float]:
    """The quick start, timed: ``search-reindex`` of the bundled corpus into a new
    index, ``search-serve`` once the index is published, and seconds from starting
    the reindex to the first 200 from ``/search``, then to every person found."""
    index_dir = workdir / "first-search"
    started = time.monotonic()
    reindex = subprocess.Popen(
        [str(VENV_BIN / "search-reindex"), str(SAMPLES), str(BBC), "--index", str(index_dir),
         "--quiet"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while not (index_dir / "CURRENT").exists():
            if reindex.poll() is not None or time.monotonic() - started > 600:
                raise RuntimeError("the reindex published nothing")
            time.sleep(0.1)
        served = Served(Settings(index_dir=index_dir), cache_size=0)
        try:
            with urllib.request.urlopen(served.url + "/search?q=blair", timeout=30) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"the first search answered {answer.status}")
            first_s = time.monotonic() - started
            if reindex.wait(timeout=1800) != 0:
                raise RuntimeError("the reindex failed")
            return {"first_search_s": first_s, "people_found_s": time.monotonic() - started}
        finally:
            served.stop()
    finally:
        if reindex.poll() is None:
            reindex.kill()
        shutil.rmtree(index_dir, ignore_errors=True)


def engines_at(spec: str, scale: int) -> list[str]:
    """The engines of ``spec`` ("whoosh:16,xapian": Whoosh up to 16x, Xapian at
    every scale) that run at ``scale``."""
    chosen = []
    for entry in spec.split(","):
        name, _, largest = entry.partition(":")
        if not largest or scale <= int(largest):
            chosen.append(name)
    return chosen


def bench_scale(
    scale: int,
    workdir: Path,
    seconds: int,
    texts: list[str],
    engines: list[str],
    shard_counts: list[int] = [],  # noqa: B006 (never changed)
    baseline: tuple[Path, str] | None = None,
    given: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every figure of one scale, for each engine on the same corpus in the same run,
    and for the Xapian engine over each number of shards (one replica each, real
    ``xapian-tcpsrv`` on loopback); raw Whoosh where the Whoosh engine runs. With
    ``given`` (``bench_corpus`` records), the corpus is those, people given."""
    corpus = workdir / f"corpus{scale}"
    if given is not None:
        count = bench_corpus.write_corpus(corpus, given, scale)
    else:
        count = make_corpus(corpus, scale)
    result: dict[str, Any] = {"articles": count, "index": {}, "search_ms": {}, "http": {}}
    layouts = [(engine, 0) for engine in engines] + [("xapian", n) for n in shard_counts]
    for engine, shards in layouts:
        name = f"{engine}, {shards} shards" if shards else engine
        settings = Settings(index_dir=workdir / f"index{scale}-{engine}-{shards}")
        data = workdir / f"cluster{scale}-{shards}" if shards else settings.index_dir
        with contextlib.ExitStack() as running:
            if shards:
                cluster = running.enter_context(LocalCluster(data, shards, 1))
                settings = replace(settings, shards=str(cluster.shards))
            result["index"][name] = bench_index(corpus, settings, engine, count, data)
            searches = (
                against_baseline(settings, texts, corpus, engine, *baseline)
                if baseline and not shards
                else ours_in_process(settings, texts)
            )
            for label, figures in searches.items():
                result["search_ms"][f"{label} [{name}]"] = figures
            result["http"][name] = over_http(settings, texts, seconds, workdir)
        shutil.rmtree(data)
        shutil.rmtree(settings.index_dir, ignore_errors=True)
    if "whoosh" in engines:
        raw_dir = workdir / f"raw{scale}"
        raw_dir.mkdir()
        raw = raw_whoosh(raw_dir, scale, texts)
        result["raw_index_docs_per_s"] = raw.pop("docs_per_s")
        result["search_ms"].update(raw)
        shutil.rmtree(raw_dir)
    shutil.rmtree(corpus)
    return result


def bench_index(
    corpus: Path, settings: Settings, engine: str, count: int, data: Path
) -> dict[str, Any]:
    """A full reindex, then one with nothing changed: times, peak memory, and the
    size of ``data`` (the index folder, or the replicas' databases)."""
    reindex = [str(VENV_BIN / "search-reindex"), str(corpus), "--index", str(settings.index_dir)]
    if settings.shards:
        reindex += ["--shards", settings.shards]
    full_s, peak_mb = timed([*reindex, "--full", "--quiet", "--engine", engine])
    unchanged_s, _ = timed([*reindex, "--quiet"])
    return {
        "docs_per_s": count / full_s, "seconds": full_s, "peak_rss_mb": peak_mb,
        "unchanged_reindex_s": unchanged_s,
        "size_mb": bench_ingest.size_mb(data),
    }  # fmt: skip


def report(scale: int, result: dict[str, Any]) -> str:
    """The figures of one scale as Markdown, with the ratios the targets are set in."""
    ms = result["search_ms"]
    raw = ms.get("raw Whoosh, default highlighter", {}).get("p50")
    rows = [f"### {scale}x: {result['articles']} articles", "",
            "| in-process search | p50 ms | p95 ms | p99 ms | p50 / raw Whoosh with snippets |",
            "|---|---|---|---|---|"]  # fmt: skip
    for name, figures in ms.items():
        rows.append(
            f"| {name} | {figures['p50']:.2f} | {figures['p95']:.2f} | {figures['p99']:.2f} "
            f"| {_ratio(figures['p50'], raw)} |"
        )
    raw_docs_per_s = result.get("raw_index_docs_per_s")
    for engine, http in result["http"].items():
        idx = result["index"][engine]
        ceiling = http["ceiling"]["rps"]
        rows += ["", f"{engine}:"]
        for label in ("`/search`", "`/search` with the result cache"):
            run = http[label]
            rows.append(
                f"- HTTP {label}, 2 workers, wrk -c16: {run['rps']:.0f} req/s "
                f"(p50 {run['p50']:.1f} ms, p99 {run['p99']:.1f} ms) = "
                f"{run['rps'] / ceiling:.0%} of the `/health` ceiling ({ceiling:.0f} req/s)"
                + (" — wrk saw errors" if "errors" in run else "")
            )
        recent = ms.get(f"ours, 3 fragments, recency=30d [{engine}]")
        if recent:
            rows.append(
                f"- in-process p50 with recency=30d: {recent['p50']:.2f} ms = "
                f"{recent['p50'] / ms[f'ours, 3 fragments [{engine}]']['p50']:.2f}x without"
            )
        threaded = http[THREADED]
        rows.append(
            f"- HTTP {THREADED}: {threaded['rps']:.0f} req/s (p50 {threaded['p50']:.1f} ms, "
            f"p99 {threaded['p99']:.1f} ms); ours serves "
            f"{http['`/search`']['rps'] / threaded['rps']:.2f}x as many"
        )
        rows += [
            "- serving workers' memory after the load: "
            + ", ".join(
                f"RSS {mb['rss']:.0f} MB (own {mb['heap']:.0f} MB, PSS {mb['pss']:.0f} MB)"
                for mb in http["worker_memory_mb"]
            ),
            f"- full reindex with extraction: {idx['docs_per_s']:.0f} articles/s "
            f"({idx['seconds']:.0f} s, peak RSS {idx['peak_rss_mb']} MB, index "
            f"{idx['size_mb']:.0f} MB)"
            + (
                f" = {idx['docs_per_s'] / raw_docs_per_s:.2f}x raw Whoosh without extraction "
                f"({raw_docs_per_s:.0f} docs/s)"
                if raw_docs_per_s
                else ""
            ),
            f"- reindex with nothing changed: {idx['unchanged_reindex_s']:.1f} s",
        ]
    return "\n".join(rows)


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}" if base else "-"


def side_by_side(results: dict[int, dict[str, Any]]) -> str:
    """One table over every scale and engine of the run, with the ratios the engine
    issue's targets are set in: p50 against the Whoosh engine's at the same scale and
    against the same engine's at the scale before, cold HTTP against the ceiling."""
    rows = [
        "| scale | engine | p50 ms, 3 fragments | / Whoosh engine | / previous scale "
        "| cold HTTP req/s | % of `/health` | full reindex s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    previous: dict[str, float] = {}
    for scale, result in results.items():
        ms = result["search_ms"]
        whoosh = ms.get("ours, 3 fragments [whoosh]", {}).get("p50")
        for engine, idx in result["index"].items():
            p50 = ms[f"ours, 3 fragments [{engine}]"]["p50"]
            http = result["http"][engine]
            cold, ceiling = http["`/search`"]["rps"], http["ceiling"]["rps"]
            rows.append(
                f"| {scale}x ({result['articles']:,}) | {engine} | {p50:.2f} "
                f"| {_ratio(p50, whoosh)} | {_ratio(p50, previous.get(engine))} "
                f"| {cold:.0f} | {cold / ceiling:.0%} of {ceiling:.0f} "
                f"| {idx['seconds']:.0f} | {idx['peak_rss_mb']} |"
            )
            previous[engine] = p50
    return "\n".join(rows)


def against(results: dict[Any, dict[str, Any]], rev: str) -> str:
    """In-process p50 of this code beside the baseline's, per scale and engine."""
    rows = [
        f"| scale | engine | search | p50 ms, this code | p50 ms, {rev} | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for scale, result in results.items():
        ms = result["search_ms"]
        for engine in result["index"]:
            for label in ("ours, 3 fragments", "ours, 3 fragments + facets", "ours, no highlights"):
                old = ms.get(f"{label} ({rev}) [{engine}]")
                if old is None:
                    continue
                new = ms[f"{label} [{engine}]"]["p50"]
                rows.append(
                    f"| {scale}x | {engine} | {label.removeprefix('ours, ')} | {new:.2f} "
                    f"| {old['p50']:.2f} | {new / old['p50']:.2f} |"
                )
    return "\n".join(rows)


def push_main(rate: float, seconds: int, scale: int, engines: str) -> int:
    """``--push``: a sustained push while clients search, on each engine's index."""
    texts = queries()
    with tempfile.TemporaryDirectory(prefix="search-bench-") as temporary:
        corpus = Path(temporary) / "corpus"
        count = make_corpus(corpus, scale)
        print(f"sustained push, {scale}x ({count} articles), on commit {provenance()['commit']}:")
        for engine in engines_at(engines, scale):
            settings = Settings(index_dir=Path(temporary) / f"index-{engine}")
            bench_index(corpus, settings, engine, count, settings.index_dir)
            served = Served(settings, cache_size=0)
            try:
                figures = sustained_push(served.url, settings.index_dir, texts, rate, seconds)
            finally:
                served.stop()
            print(render_push(engine, figures), flush=True)
    return 0


ALERT_COUNTS = [1000, 10_000, 100_000]
NEWS_ALERTS, LIVE_ALERTS = 1000, 10_000


def alerts_main(rate: float, seconds: int, scale: int, engines: str) -> int:
    """``--alerts``: matching's cost against the number of alerts, then a push of
    ``rate`` articles/s with 10,000 alerts, on each engine's index. Two mixes: a
    service's alerts are mostly on things a given stream never mentions (1,000 on
    the set's own words and people, the rest on words it does not hold), and, the
    worst case, every alert on the stream's words (matches grow with the alerts)."""
    with tempfile.TemporaryDirectory(prefix="search-bench-") as temporary:
        started = time.perf_counter()
        base = bench_corpus.records(BBC)
        corpus = Path(temporary) / "corpus"
        count = bench_corpus.write_corpus(corpus, base, scale)
        bodies = bench_alerts.alert_bodies(base, max(ALERT_COUNTS))
        others = bench_alerts.elsewhere(base, max(ALERT_COUNTS), SHARED / "data")
        mixes = {
            "1,000 on the news, the rest on other things": [
                bodies[:NEWS_ALERTS] + others[: count - NEWS_ALERTS] for count in ALERT_COUNTS
            ],
            "all on the news": [bodies[:count] for count in ALERT_COUNTS],
        }
        found_s = time.perf_counter() - started
        print(f"alerts, {scale}x ({count:,} articles, people found once in {found_s:.0f} s), "
              f"on commit {provenance()['commit']}:")  # fmt: skip
        ids = [f"copy{c % scale:02d}/{r['id']}" for c, r in enumerate(base[:: len(base) // 200])]
        for engine in engines_at(engines, scale):
            settings = Settings(index_dir=Path(temporary) / f"index-{engine}")
            built = bench_index(corpus, settings, engine, count, settings.index_dir)
            print(f"- {engine}: index built in {built['seconds']:.0f} s", flush=True)
            curve = bench_alerts.cost_curve(settings, mixes, ids)
            served = Served(settings, cache_size=0)
            try:
                made_s = bench_alerts.make_alerts(served.url, settings.index_dir,
                                                  bodies[:LIVE_ALERTS])  # fmt: skip
                figures = bench_alerts.live(served.url, settings.index_dir, base, rate, seconds)
            finally:
                served.stop()
            print(bench_alerts.render(engine, curve, made_s, LIVE_ALERTS, figures), flush=True)
    return 0


def ingest_main(scale: int, engines: str, baseline: str | None) -> int:
    """``--ingest``: the same JSONL records built by each engine (and by the code of
    commit ``baseline``) and imported by Typesense, in one run (``bench_ingest``)."""
    with tempfile.TemporaryDirectory(prefix="search-bench-") as temporary:
        corpus = Path(temporary) / "corpus"
        count = bench_corpus.write_corpus(corpus, bench_corpus.records(BBC), scale)
        print(f"ingest, {scale}x, on commit {provenance()['commit']}:", flush=True)
        rows = {}
        for engine in engines_at(engines, scale):
            settings = Settings(index_dir=Path(temporary) / f"index-{engine}")
            rows[f"ours, {engine}"] = bench_index(
                corpus, settings, engine, count, settings.index_dir
            )
            shutil.rmtree(settings.index_dir)
            if baseline:
                rows[f"{baseline}, {engine}"] = baseline_build(corpus, engine, count, baseline)
        rows["typesense"] = bench_ingest.typesense(corpus, Path(temporary))
        print(bench_ingest.render(count, rows))
    return 0


def baseline_build(corpus: Path, engine: str, count: int, rev: str) -> dict[str, float]:
    """A full build of ``corpus`` by the code of commit ``rev``: time, rate and size."""
    with tempfile.TemporaryDirectory(prefix="search-bench-baseline-") as temporary:
        index = Path(temporary) / "index"
        with checkout(rev, Path(temporary)) as code:
            seconds, _ = timed([sys.executable, "-c", BASELINE_REINDEX, str(code), str(corpus),
                                "--index", str(index), "--engine", engine])  # fmt: skip
        size = bench_ingest.size_mb(index)
    return {"seconds": seconds, "docs_per_s": count / seconds, "size_mb": size}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,4", help="comma list of corpus copies (1,16,64)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--shards",
        default="",
        help="comma list of shard counts the Xapian engine is also measured over (2,4)",
    )
    parser.add_argument(
        "--engines",
        default="whoosh,xapian",
        help="comma list of engines measured side by side, each ENGINE or ENGINE:LARGEST_SCALE "
        "(whoosh:16,xapian)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure in-process searches (with --ingest: builds) with the code of "
        "commit REV, same indexes",
    )
    parser.add_argument(
        "--push",
        type=float,
        metavar="RATE",
        help="only push RATE articles/s for --seconds into an index of the first scale, "
        "with 4 clients searching: time from the 200 to searchable, failed searches",
    )
    parser.add_argument(
        "--alerts",
        type=float,
        metavar="RATE",
        help="only alerts: matching's cost for 1k, 10k and 100k alerts on an index of the "
        "first scale, then RATE articles/s pushed for --seconds against 10k alerts",
    )
    parser.add_argument(
        "--people-given",
        action="store_true",
        help="index JSONL records with their people (found once, over one copy) instead "
        "of text files: no NER in the builds, so 16x and more build in minutes",
    )
    parser.add_argument(
        "--ingest",
        action="store_true",
        help="only ingest: the first scale's JSONL records (people given) built by each "
        "engine and imported by Typesense 0.24.1, in one run",
    )
    parser.add_argument(
        "--first-search",
        action="store_true",
        help="only time the quick start: its reindex of the bundled corpus to the first search",
    )
    args = parser.parse_args()
    if args.first_search:
        with tempfile.TemporaryDirectory(prefix="search-bench-") as temporary:
            timing = first_search(Path(temporary))
        print(
            f"quick start, bundled corpus, new index: first `/search` 200 after "
            f"{timing['first_search_s']:.1f} s; every person found after "
            f"{timing['people_found_s']:.0f} s"
        )
        return 0
    if args.ingest:
        return ingest_main(int(args.scales.split(",")[0]), args.engines, args.baseline)
    if args.alerts:
        return alerts_main(args.alerts, args.seconds, int(args.scales.split(",")[0]), args.engines)
    if args.push:
        return push_main(args.push, args.seconds, int(args.scales.split(",")[0]), args.engines)
    if shutil.which("wrk") is None:
        print("bench: wrk is missing (scripts/bench installs it)", file=sys.stderr)
        return 2
    texts = queries()
    ran = provenance()  # the code as it was when the run began
    results: dict[int, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="search-bench-") as temporary,
        contextlib.ExitStack() as stack,
    ):
        baseline = None
        if args.baseline:
            baseline = (
                stack.enter_context(checkout(args.baseline, Path(temporary))),
                args.baseline,
            )
        given = bench_corpus.records(BBC) if args.people_given else None
        for scale in (int(s) for s in args.scales.split(",")):
            engines = engines_at(args.engines, scale)
            shard_counts = [int(n) for n in args.shards.split(",") if n]
            results[scale] = bench_scale(
                scale, Path(temporary), args.seconds, texts, engines, shard_counts, baseline, given
            )
            print(report(scale, results[scale]) + "\n", flush=True)
            if args.json:
                figures = {**ran, "baseline": args.baseline, "people_given": args.people_given,
                           "scales": results}  # fmt: skip
                args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(side_by_side(results))
    if args.baseline:
        print("\n" + against(results, args.baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())

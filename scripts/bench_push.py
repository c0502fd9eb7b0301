"""Live news under load: a sustained push while clients search (``scripts/bench --push``).

Over a real ``search-serve`` (2 workers and its writer) on an index of the BBC set,
one client pushes articles at a steady rate, one article a request (up to 8 in flight,
so each leaves on time), each with a word
of its own, while four clients search the bench queries as fast as they are answered.
A checker asks, every 50 ms, which pushed articles ``/export`` finds, so each article's
time from its 200 to searchable is known to about 50 ms. It prints that time's
percentiles, the searches answered and failed, and their latency.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from search.keys import Keys

SEARCH_CLIENTS = 4
# Pushes in flight at once at most (one client's connections).
PUSHERS = 8
CHECK_EVERY_S = 0.05
# After the last push, how long a pushed article may take to be found before it
# counts as never searchable.
SETTLE_S = 10.0


def _word(number: int) -> str:
    """A word only pushed article ``number`` has."""
    return "pushmark" + "".join(chr(ord("a") + int(d)) for d in f"{number:06d}")


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, None


def wire_article(number: int) -> dict[str, Any]:
    """A short wire update, found by a word of its own."""
    return {"id": f"bench-push/{number}", "title": f"Wire update {number}",
            "body": f"A {_word(number)} report from the newsroom, update {number}.",
            "people": [], "date": "2026-12-07"}  # fmt: skip


def _found(url: str, q: str) -> list[str]:
    """The ids ``q`` finds, by ``/export`` (no highlights to make: the checker's
    own load stays small beside the clients')."""
    query = urllib.parse.urlencode({"q": q})
    try:
        with urllib.request.urlopen(f"{url}/export?{query}", timeout=10) as answer:
            return [json.loads(line)["id"] for line in answer if line.strip()]
    except (OSError, urllib.error.HTTPError, ValueError, KeyError):
        return []


class Searchers:
    """Clients sending the bench queries, one after another, until stopped."""

    def __init__(self, url: str, texts: list[str], clients: int) -> None:
        self.url, self.texts, self.clients = url, texts, clients
        self.latencies_ms: list[float] = []
        self.failures: list[str] = []
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(clients)]
        for thread in self.threads:
            thread.start()

    def _run(self, number: int) -> None:
        n = number
        while not self.stopped.is_set():
            q = urllib.parse.urlencode({"q": self.texts[n % len(self.texts)]})
            started = time.perf_counter()
            try:
                status, _ = _get(f"{self.url}/search?{q}")
            except OSError as exc:
                status = repr(exc)  # type: ignore[assignment]
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            if status != 200:
                self.failures.append(str(status))
            n += self.clients

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join()


def sustained_push(
    url: str,
    index_dir: Any,
    texts: list[str],
    rate: float,
    seconds: float,
    article: Callable[[int], dict[str, Any]] = wire_article,
    clients: int = SEARCH_CLIENTS,
) -> dict[str, Any]:
    """Push ``rate`` articles a second for ``seconds`` while ``clients`` search; the
    figures, and when each pushed article was acknowledged and found
    (``acknowledged_at``, ``searchable_at``: by id, in seconds since the epoch).
    Article ``number`` holds ``_word(number)``."""
    _, key = Keys(index_dir).create("write", name="bench")
    acknowledged: dict[int, float] = {}
    searchable: dict[int, float] = {}
    push_failures: list[str] = []
    lock = threading.Lock()
    pushing = threading.Event()
    pushing.set()

    def check() -> None:
        while pushing.is_set() or len(searchable) < len(acknowledged):
            with lock:
                waiting = [n for n in acknowledged if n not in searchable]
            if waiting:
                q = " OR ".join(_word(n) for n in waiting[:100])
                now = time.time()
                for doc_id in _found(url, q):
                    searchable.setdefault(int(doc_id.rsplit("/", 1)[1]), now)
            if not pushing.is_set() and time.monotonic() > settle_by:
                return
            time.sleep(CHECK_EVERY_S)

    settle_by = float("inf")
    checker = threading.Thread(target=check)
    checker.start()
    searchers = Searchers(url, texts, clients)
    started = time.monotonic()
    count = int(rate * seconds)
    ids = {}

    def push(number: int, record: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{url}/documents", data=json.dumps(record).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                if answer.status == 200:
                    with lock:
                        acknowledged[number] = time.time()
        except (OSError, urllib.error.HTTPError) as exc:
            push_failures.append(repr(exc))

    # Each push leaves at its time, whatever the ones before it wait for.
    with ThreadPoolExecutor(max_workers=PUSHERS) as pool:
        for number in range(count):
            time.sleep(max(0.0, started + number / rate - time.monotonic()))
            record = article(number)
            ids[number] = record["id"]
            pool.submit(push, number, record)
    pushed_s = time.monotonic() - started
    settle_by = time.monotonic() + SETTLE_S
    pushing.clear()
    checker.join()
    searchers.stop()
    search_cuts = statistics.quantiles(searchers.latencies_ms or [0.0, 0.0], n=100,
                                       method="inclusive")  # fmt: skip
    return {
        "rate": rate, "seconds": pushed_s, "acknowledged": len(acknowledged),
        "push_failures": len(push_failures),
        "never_searchable": len(set(acknowledged) - set(searchable)),
        "to_searchable_ms": delays_ms(acknowledged, searchable),
        "searches": len(searchers.latencies_ms), "failed_searches": len(searchers.failures),
        "failures_by_status": dict(Counter(searchers.failures)),
        "search_ms": {"p50": search_cuts[49], "p99": search_cuts[98]},
        "clients": clients,
        "searchable_at": {ids[n]: at for n, at in searchable.items()},
        "acknowledged_at": {ids[n]: at for n, at in acknowledged.items()},
    }  # fmt: skip


def delays_ms(since: dict[Any, float], until: dict[Any, float]) -> dict[str, float]:
    """Percentiles of ``until - since`` in ms over the ids in both."""
    delays = [(until[doc] - at) * 1000 for doc, at in since.items() if doc in until]
    cuts = (
        statistics.quantiles(delays, n=100, method="inclusive") if len(delays) > 1 else [0.0] * 99
    )
    return {"p50": cuts[49], "p99": cuts[98], "max": max(delays, default=0.0)}


def render(engine: str, figures: dict[str, Any]) -> str:
    delay, search = figures["to_searchable_ms"], figures["search_ms"]
    return (
        f"- {engine}: {figures['acknowledged']} articles pushed at {figures['rate']:.0f}/s "
        f"for {figures['seconds']:.0f} s ({figures['push_failures']} failed pushes) with "
        f"{figures['clients']} clients searching: from the 200 to searchable p50 "
        f"{delay['p50']:.0f} ms, p99 {delay['p99']:.0f} ms, max {delay['max']:.0f} ms "
        f"({figures['never_searchable']} never); {figures['searches']} searches, "
        f"{figures['failed_searches']} failed {figures['failures_by_status'] or ''}, "
        f"p50 {search['p50']:.1f} ms, p99 {search['p99']:.1f} ms"
    )

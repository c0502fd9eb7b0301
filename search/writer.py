"""The one writer: applies pushed articles to the index, a small batch at a time.

gunicorn's workers never write the index: they log each push durably
(``search.ingest.pushes``) and answer. This process, started by gunicorn's master
(``search.http.gunicorn_conf``) and started again by it if it dies, applies the
log in order, each batch one atomic commit under the index's one-writer lock (at
least the engine's ``commit_gap_s`` apart, so that a search ends on the revision it
reads; pushes of a burst wait for it at most, as Elasticsearch's wait for its
refresh), so it takes turns with ``search-reindex`` and neither loses the other's
articles. A batch is marked applied only after its commit, so a writer killed
anywhere applies it again (pushes are upserts) when it starts. Pushed articles
are searchable once a batch commits (the workers look for a new commit every
``SEARCH_REFRESH_INTERVAL_S``); their people are found after, as for a first
build (``people_pending``). Then it matches the batch's articles against the
alerts (``search.alerts``), whose webhooks a thread of its own calls
(``search.webhooks``). When idle, it brings a cluster's replicas that were
down while it wrote up to their shard (``Store.catch_up``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from search.alerts import Alerts, match_changed, match_new
from search.children import die_with_parent
from search.config import Settings
from search.engines import load
from search.errors import SearchServiceError
from search.indexer import Indexer
from search.ingest.pushes import PushLog
from search.query.synonyms import SynonymStore
from search.stores.from_settings import open_store
from search.webhooks import Deliverer

# Entries applied in one commit at most; a commit a batch keeps a burst of pushes
# searchable within about a second without a commit for each.
BATCH = 1000
# How often an idle writer looks at the log (a read of one row).
POLL_S = 0.05
# After a failed batch (the disk, a replica), the writer waits this long and tries again.
RETRY_S = 1.0
# How often an idle writer brings replicas that missed writes up to their shard (a
# probe of every replica); a batch written catches them up first anyway.
CATCH_UP_S = 2.0
log = logging.getLogger("search.writer")


def run(settings: Settings, stop: threading.Event) -> None:
    """Find the people a killed run or writer left to find, then apply the log
    until ``stop`` is set."""
    pushes = PushLog(settings.index_dir)
    store = open_store(settings)
    indexer = Indexer(store, engine=settings.engine, pushes=pushes)
    alerts, synonyms = Alerts(settings.index_dir), SynonymStore(settings.index_dir)
    webhooks = Deliverer(Alerts(settings.index_dir))
    threading.Thread(target=webhooks.run, args=(stop,), name="webhooks", daemon=True).start()
    resumed = False
    caught_up_at, behind = 0.0, list[str]()
    while not stop.is_set():
        try:
            if not resumed:  # people a killed run or writer left to find
                indexer.resume_people()
                resumed = True
            applied = indexer.apply_pushes(BATCH)
            committed_at = time.monotonic()
            match_new(alerts, store, pushes, synonyms)  # also what a kill left
            if applied > 0:
                gap = load(store.current_engine() or store.default_engine).commit_gap_s
                stop.wait(max(0.0, gap - (time.monotonic() - committed_at)))
                continue
            if time.monotonic() - caught_up_at >= CATCH_UP_S:
                caught_up_at = time.monotonic()
                # What a reindex killed after its write did not match.
                match_changed(alerts, store, [], synonyms, done=False)
                still = store.catch_up()
                if still and still != behind:
                    log.warning("replicas behind: %s", "; ".join(still))
                behind = still
            stop.wait(POLL_S)
        except (SearchServiceError, OSError) as exc:
            log.error("the writer could not apply pushed articles (retrying): %s", exc)
            stop.wait(RETRY_S)


def main() -> None:
    """``python -m search.writer``: the writer of the index ``SEARCH_*`` names."""
    logging.basicConfig(level=logging.INFO, format="[writer %(process)d] %(message)s")
    die_with_parent(os.getppid())
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(Settings.from_env(), stop)


if __name__ == "__main__":
    main()

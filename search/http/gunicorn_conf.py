"""gunicorn settings for ``search-serve`` (loaded as ``-c python:search.http.gunicorn_conf``).

``preload_app`` stays off: each worker imports the app after the fork and opens the
index itself, so no file handle or searcher is shared between processes. Values
come from ``search.config`` (the ``SEARCH_*`` environment, which ``search-serve``
sets from its flags).
"""

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from search.config import Settings
from search.errors import SearchServiceError

# Workers import prometheus_client after the fork, so they all see this directory;
# one made here is this server's alone and goes when it exits.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="search-metrics-")

wsgi_app = "search.http.app:create_app()"
_settings = Settings.from_env()
bind = [_settings.bind]
workers = _settings.workers
# Requests read in each worker's event loop and answered in its threads
# (search/http/worker.py): a slow or idle client holds a socket, never a thread.
# SEARCH_WORKER_CLASS serves with another, for scripts/bench to compare.
worker_class = _settings.worker_class
threads = _settings.threads
# Seconds an idle kept-alive connection stays open.
keepalive = _settings.keepalive_s
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
# connections over them. On one shared socket, whichever worker woke first took a
# burst of keep-alive connections and kept them: one core did the work of two
# (cold /search at 16x: 488 or 941 req/s by luck; 900-970 every time with this).
# search-serve checks first that nothing else listens on the address.
reuse_port = True
# No gunicornc control socket: nothing here uses it, and its default path
# (~/.gunicorn/gunicorn.ctl) is one per user, taken over by each server started.
control_socket_disable = True
preload_app = False
timeout = 30
# A longer request line gets a JSON 414 from the worker.
limit_request_line = 8190
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
loglevel = _settings.log_level
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms rid=%({x-request-id}o)s'
)


def on_starting(server: Any) -> None:
    """Put ``SEARCH_SYNONYMS`` in place, and let the workers hold every connection
    they may, each a file descriptor.

    A synonyms file that cannot be read stops the start with its reason. The soft
    open-file limit is often 1,024 while the hard one is far higher; a worker past
    its limit could not even accept a connection to answer it 503.
    """
    if _settings.synonyms_file is not None:
        _put_synonyms(_settings.synonyms_file)
    wanted = _settings.max_connections * workers + 256  # index files, shard connections, logs
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))


def _put_synonyms(path: Path) -> None:
    from search.query.synonyms import SynonymStore

    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        SynonymStore(_settings.index_dir).put(entries)
    except (OSError, ValueError, SearchServiceError) as exc:
        raise SystemExit(f"search-serve: cannot use the synonyms in {path}: {exc}") from None


def when_ready(server: Any) -> None:
    """Start the one writer of pushed articles (``search.writer``), and look after it
    wherever the master looks after its workers: one that died is started again."""
    writer = _Writer()
    writer.start()
    server.search_writer = writer
    manage_workers = server.manage_workers

    def manage_workers_and_writer() -> None:
        writer.keep_alive()
        manage_workers()

    server.manage_workers = manage_workers_and_writer


class _Writer:
    """The writer process; gunicorn's master reaps it with its workers, so its exit
    is seen as ``poll`` returning at all."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "search.writer"])

    def keep_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=graceful_timeout)
        self.process = None


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the aggregated metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    writer = getattr(server, "search_writer", None)
    if writer is not None:
        writer.stop()
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)

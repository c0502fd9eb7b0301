"""The commands: ``search-reindex``, ``search-serve``, ``search-keys``,
``search-evaluate``, ``search-cluster``. Thin on purpose.

Each parses flags, calls one library entry point, and prints the outcome. A fatal
error prints one line naming the problem and what to do, and exits non-zero; a
completed reindex exits 0 even when some files were skipped (they are listed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from search.config import DEFAULT_INDEX_DIR, SHARED_DIR, Settings
from search.engines import DEFAULT_ENGINE, ENGINES
from search.errors import (
    InvalidParameter,
    InvalidShards,
    LockHeld,
    NotFound,
    ReindexError,
    ReplicasMissed,
    SearchServiceError,
)
from search.keys import SCOPES, Keys
from search.shards import Shards

if TYPE_CHECKING:
    from search.stores.base import Store

EXIT_FATAL = 2
EXIT_LOCKED = 3
# A sharded run wrote some replicas but not all (each is named).
EXIT_REPLICAS_MISSED = 4
SHARDS_HELP = (
    "a sharded index on xapian-tcpsrv replicas: host:port[|host:port...] per shard, "
    "shards separated by commas (default $SEARCH_SHARDS)"
)
PLAIN_PROGRESS_EVERY_S = 5.0


class BarProgress:
    """A tqdm bar with rate and ETA, for a terminal."""

    def __init__(self, stream: TextIO) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="article", file=stream, dynamic_ncols=True)

    def update(self, done: int, total: int) -> None:
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()
        if done == total:
            self.bar.close()


class LineProgress:
    """A plain line every few seconds, for logs and cron mail."""

    def __init__(self, stream: TextIO, every_s: float = PLAIN_PROGRESS_EVERY_S) -> None:
        self.stream = stream
        self.every_s = every_s
        self.started = time.monotonic()
        self.last = self.started

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every_s and done not in (0, total):
            return
        self.last = now
        rate = done / (now - self.started) if now > self.started else 0.0
        eta = (total - done) / rate if rate else 0.0
        print(f"extracted {done}/{total} articles ({rate:.0f}/s, eta {eta:.0f}s)", file=self.stream)
        self.stream.flush()


def _reindex_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="search-reindex", description="Build or update the search index from article files."
    )
    parser.add_argument("sources", nargs="+", type=Path, help="folders or files of articles")
    parser.add_argument(
        "--index", type=Path, default=None, help=f"index folder (default {DEFAULT_INDEX_DIR})"
    )
    parser.add_argument(
        "--full", action="store_true", help="rebuild from scratch into a new generation"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--wait", action="store_true", help="wait for a running reindex instead of exiting"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for NER and for a new index's build",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="engine to build with (default: the index's own, else $SEARCH_ENGINE, else "
        f"{DEFAULT_ENGINE}); another engine than the index's means a full rebuild",
    )
    parser.add_argument("--shards", default=None, help=SHARDS_HELP)
    return parser


def parser_of(command: str) -> argparse.ArgumentParser:
    """The flags of a command (the docs print their usage)."""
    parsers = {"search-reindex": _reindex_parser, "search-serve": _serve_parser,
               "search-keys": _keys_parser}  # fmt: skip
    return parsers[command]()


def reindex_main(argv: list[str] | None = None) -> int:
    # The indexer, the alerts and what they import (datasketch brings scipy) are
    # imported here: ``search-serve`` imports this module only to start gunicorn,
    # and importing them took 0.8 s of every server's start.
    from search.indexer import Indexer
    from search.ingest.pushes import PushLog
    from search.stores.from_settings import open_store

    parser = _reindex_parser()
    args = parser.parse_args(argv)
    settings = Settings.from_env(index_dir=args.index, engine=args.engine, shards=args.shards)
    progress = None
    if not args.quiet:
        progress = BarProgress(sys.stderr) if sys.stderr.isatty() else LineProgress(sys.stderr)
    try:
        indexer = Indexer(
            open_store(settings),
            jobs=max(1, args.jobs),
            engine=settings.engine,
            pushes=PushLog(settings.index_dir),
        )
        summary = indexer.reindex(args.sources, full=args.full, progress=progress, wait=args.wait,
                                  changing=_noted_for_alerts(settings))  # fmt: skip
    except LockHeld as exc:
        print(f"search-reindex: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except ReplicasMissed as exc:
        print(f"search-reindex: error: {exc}", file=sys.stderr)
        return EXIT_REPLICAS_MISSED
    except ReindexError as exc:
        print(f"search-reindex: error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except (OSError, MemoryError) as exc:
        print(f"search-reindex: error: {exc}; the served index is unchanged", file=sys.stderr)
        return EXIT_FATAL
    _match_alerts(settings, indexer.store, summary.changed)
    print(json.dumps(summary.as_dict(), indent=2) if args.json else summary.render())
    return 0


def _noted_for_alerts(settings: Settings) -> Callable[[list[tuple[str, str]]], None]:
    """What notes the articles a reindex is about to write, for the alerts to match
    even if the reindex is killed after writing them."""
    from search.alerts import Alerts

    alerts = Alerts(settings.index_dir)

    def note(changes: list[tuple[str, str]]) -> None:
        try:
            alerts.due(changes)
        except sqlite3.Error as exc:
            raise ReindexError(
                f"the articles to match against alerts cannot be noted: {exc}"
            ) from exc

    return note


def _match_alerts(settings: Settings, store: Store, changed: list[str]) -> None:
    """Match what the reindex added or changed against the alerts; a failure is
    said, and leaves the reindex done."""
    from search.alerts import Alerts, match_changed
    from search.query.synonyms import SynonymStore

    try:
        synonyms = SynonymStore(settings.index_dir)
        match_changed(Alerts(settings.index_dir), store, changed, synonyms)
    except (SearchServiceError, OSError, sqlite3.Error) as exc:
        print(f"search-reindex: alerts were not matched: {exc}", file=sys.stderr)


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="search-serve", description="Serve the search API under gunicorn."
    )
    parser.add_argument(
        "--index", type=Path, default=None, help=f"index folder (default {DEFAULT_INDEX_DIR})"
    )
    parser.add_argument("--bind", default=None, help="HOST:PORT (default 127.0.0.1:8000)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default 2)")
    parser.add_argument("--shards", default=None, help=SHARDS_HELP)
    return parser


def serve_main(argv: list[str] | None = None) -> int:
    parser = _serve_parser()
    args = parser.parse_args(argv)
    settings = Settings.from_env(
        index_dir=args.index, bind=args.bind, workers=args.workers, shards=args.shards
    )
    env = dict(
        os.environ,
        SEARCH_INDEX_DIR=str(settings.index_dir.resolve()),
        SEARCH_BIND=settings.bind,
        SEARCH_WORKERS=str(settings.workers),
    )
    where = str(settings.index_dir)
    if settings.shards:
        try:
            env["SEARCH_SHARDS"] = str(Shards.parse(settings.shards))
        except InvalidShards as exc:
            print(f"search-serve: error: {exc}", file=sys.stderr)
            return EXIT_FATAL
        where = f"shards {env['SEARCH_SHARDS']}"
    taken = _address_taken(settings.bind)
    if taken:
        print(f"search-serve: error: cannot listen on {settings.bind}: {taken}", file=sys.stderr)
        return EXIT_FATAL
    print(f"Serving {where} at http://{settings.bind}/ (Ctrl-C stops)", flush=True)
    command = [sys.executable, "-m", "gunicorn", "-c", "python:search.http.gunicorn_conf"]
    os.execve(sys.executable, command, env)
    return 0  # not reached: the process is gunicorn now


def _keys_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="search-keys",
        description="Create, list and revoke the API's keys (a key is shown once, when made).",
    )
    parser.add_argument(
        "--index", type=Path, default=None, help=f"index folder (default {DEFAULT_INDEX_DIR})"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a key and print it")
    create.add_argument("--scope", required=True, choices=SCOPES)
    create.add_argument("--name", default="", help="what the key is for")
    create.add_argument("--expires", default=None, help="last valid day, YYYY-MM-DD (UTC)")
    commands.add_parser("list", help="every key, never the keys themselves")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id")
    return parser


def keys_main(argv: list[str] | None = None) -> int:
    args = _keys_parser().parse_args(argv)
    keys = Keys(Settings.from_env(index_dir=args.index).index_dir)
    try:
        if args.command == "create":
            key, text = keys.create(args.scope, args.name, args.expires)
            print(f"{text}\n(key {key.id}, scope {key.scope}: keep it now, it is not shown again)")
        elif args.command == "list":
            for key in keys.list():
                state = (
                    f"revoked {key.revoked}" if key.revoked else f"expires {key.expires or 'never'}"
                )
                print(f"{key.id}  {key.scope:<6}  {state}  created {key.created}  {key.name}")
        else:
            print(f"revoked {keys.revoke(args.id).id}")
    except (InvalidParameter, NotFound) as exc:
        print(f"search-keys: error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except (OSError, sqlite3.Error) as exc:
        print(f"search-keys: error: cannot use the keys in {keys.folder}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    return 0


def _address_taken(bind: str) -> str | None:
    """Why ``HOST:PORT`` cannot be listened on, if it cannot.

    The workers bind with SO_REUSEPORT, which another server that set it too (a
    second search-serve, say) would share without a word, splitting the traffic. A
    plain bind fails on any socket already there, so it is tried first.
    """
    if bind.startswith("unix:"):
        return None
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if not port.isdigit():
        return f"{port!r} is not a port number"
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            # As gunicorn binds: connections in TIME_WAIT from an earlier server do
            # not count, a listening socket does.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, int(port)))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def cluster_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="search-cluster",
        description="Run shards x replicas of xapian-tcpsrv on this machine, print their "
        "--shards spec, and stop them cleanly on Ctrl-C or SIGTERM.",
    )
    parser.add_argument("folder", type=Path, help="where the replicas' databases live")
    parser.add_argument("--shards", type=int, default=2, help="number of shards (default 2)")
    parser.add_argument("--replicas", type=int, default=2, help="replicas a shard (default 2)")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    args = parser.parse_args(argv)
    try:
        from search.engines.xapian.servers import LocalCluster

        cluster = LocalCluster(args.folder, args.shards, args.replicas, args.host)
    except ImportError as exc:
        print(f"search-cluster: needs the xapian engine: pip install '.[xapian]' ({exc})",
              file=sys.stderr)  # fmt: skip
        return EXIT_FATAL
    except ReindexError as exc:
        print(f"search-cluster: error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        spec = cluster.start()
        print(f"SEARCH_SHARDS={spec}", flush=True)
        stop.wait()
    except ReindexError as exc:
        print(f"search-cluster: error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    finally:
        cluster.stop()
    return 0


def evaluate_main(argv: list[str] | None = None) -> int:
    from search.eval.ranking import LOADERS, evaluate, table

    parser = argparse.ArgumentParser(
        prog="search-evaluate",
        description="Index a test collection and print the ranking's nDCG@10, MAP, "
        "Recall@100 and MRR@10.",
    )
    parser.add_argument(
        "folder", type=Path, nargs="?", default=SHARED_DIR / "data" / "cranfield",
        help="the collection's files (default: the shared Cranfield collection)",
    )  # fmt: skip
    parser.add_argument("--collection", choices=sorted(LOADERS), default="cranfield")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--engine", action="append", choices=ENGINES, help="engine(s) to score (default: all)"
    )
    args = parser.parse_args(argv)
    try:
        collection = LOADERS[args.collection](args.folder)
    except (OSError, ValueError) as exc:
        print(f"search-evaluate: cannot read {args.folder}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    started = time.monotonic()
    scores = {engine: evaluate(collection, engine=engine) for engine in args.engine or ENGINES}
    if args.json:
        print(json.dumps(scores, indent=2))
        return 0
    print(
        f"{collection.name}: {len(collection.documents)} documents, "
        f"{len(collection.queries)} queries ({time.monotonic() - started:.0f}s)"
    )
    print(table("", scores))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m search.cli reindex|serve ...``: both commands without installed scripts."""
    args = sys.argv[1:] if argv is None else argv
    commands = {
        "reindex": reindex_main,
        "serve": serve_main,
        "keys": keys_main,
        "evaluate": evaluate_main,
        "cluster": cluster_main,
    }
    if not args or args[0] not in commands:
        print(f"usage: python -m search.cli {{{','.join(commands)}}} ...", file=sys.stderr)
        return EXIT_FATAL
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())

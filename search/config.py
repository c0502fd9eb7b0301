"""Settings: every ``SEARCH_*`` environment variable is read here, and only here.

Each setting says its variable, its command-line flag if it has one, its default
and what it is for; the README's configuration table is generated from them
(``scripts/docs``). The commands override settings from their flags; tests build
``Settings`` directly. (``search.phases`` reads its test-only pause variables on
its own: they are no setting of the service.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parent.parent
DEFAULT_INDEX_DIR = CHECKOUT / "index"
SHARED_DIR = CHECKOUT.parent / "shared"


def _setting(
    default: Any,
    env: str,
    doc: str,
    read: Callable[[str], Any] = str,
    flag: str = "",
    shown: str | None = None,
) -> Any:
    """A setting's default and how it is documented and read from ``env``."""
    return field(
        default=default,
        metadata={"env": env, "doc": doc, "read": read, "flag": flag,
                  "shown": shown if shown is not None else f"`{default}`"},
    )  # fmt: skip


def _optional(value: str) -> str | None:
    return value or None


@dataclass(frozen=True)
class Settings:
    """What the server and the indexer need to know about their surroundings."""

    index_dir: Path = _setting(
        DEFAULT_INDEX_DIR, "SEARCH_INDEX_DIR", "the index folder", Path, "--index",
        "`index/` in the checkout",
    )  # fmt: skip
    bind: str = _setting("127.0.0.1:8000", "SEARCH_BIND", "where search-serve listens",
                         flag="--bind")  # fmt: skip
    workers: int = _setting(2, "SEARCH_WORKERS", "worker processes", int, "--workers")
    threads: int = _setting(8, "SEARCH_THREADS", "threads a worker answers requests in", int)
    search_time_limit_s: float = _setting(
        2.0, "SEARCH_TIME_LIMIT_S", "a search past it stops with 503 search_timeout", float
    )
    refresh_interval_s: float = _setting(
        0.5, "SEARCH_REFRESH_INTERVAL_S", "how often a worker looks for a newer index", float
    )
    result_cache_size: int = _setting(
        256, "SEARCH_RESULT_CACHE", "results kept per worker (0 turns the cache off)", int
    )
    # The engine new indexes are built with; None: the served index's own.
    engine: str | None = _setting(
        None, "SEARCH_ENGINE", "the engine a new index is built with", _optional,
        "--engine", "the index's own; `whoosh` for a new one",
    )  # fmt: skip
    # A sharded index's replicas (search.shards); None: the index is in index_dir.
    shards: str | None = _setting(
        None, "SEARCH_SHARDS", "an index on xapian-tcpsrv replicas (docs/sharding.md)",
        _optional, "--shards", "none: the index is in the index folder",
    )  # fmt: skip
    request_read_timeout_s: float = _setting(
        10.0, "SEARCH_REQUEST_READ_TIMEOUT_S",
        "time a client has to send its whole request (408 after it)", float,
    )  # fmt: skip
    keepalive_s: int = _setting(
        5, "SEARCH_KEEPALIVE_S", "an idle kept-alive connection is closed after it", int
    )
    max_connections: int = _setting(
        4000, "SEARCH_MAX_CONNECTIONS",
        "connections a worker holds; past it, new ones get 503 overloaded at once", int,
    )  # fmt: skip
    cors_origins: str | None = _setting(
        None, "SEARCH_CORS_ORIGINS",
        "origins whose browser apps may call the API: a comma list, or `*`", _optional,
        shown="none: no cross-origin access",
    )  # fmt: skip
    require_key: bool = _setting(
        False, "SEARCH_REQUIRE_KEY", "read endpoints need a search key too (all but /health, "
        "/ready)", lambda value: value.strip().lower() in ("1", "true", "yes"), shown="`false`",
    )  # fmt: skip
    max_push_bytes: int = _setting(
        32 * 1024 * 1024, "SEARCH_MAX_PUSH_BYTES", "the largest POST /documents body (413 past it)",
        int, shown="32 MiB",
    )  # fmt: skip
    push_wait_s: float = _setting(
        10.0, "SEARCH_PUSH_WAIT_S", "how long POST /documents?wait=true waits to be searchable",
        float,
    )  # fmt: skip
    synonyms_file: Path | None = _setting(
        None, "SEARCH_SYNONYMS", "a JSON file of synonyms search-serve puts in place at start "
        "(as PUT /synonyms)", lambda value: Path(value) if value else None,
        shown="none: the set last put",
    )  # fmt: skip
    log_level: str = _setting("info", "SEARCH_LOG_LEVEL", "gunicorn's log level")
    worker_class: str = _setting(
        "search.http.worker.SearchWorker", "SEARCH_WORKER_CLASS",
        "the gunicorn worker (another only for scripts/bench to compare)",
    )  # fmt: skip

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from ``SEARCH_*`` variables, then apply non-None overrides."""
        values: dict[str, object] = {}
        for item in fields(cls):
            raw = os.environ.get(item.metadata["env"])
            if raw is not None:
                values[item.name] = item.metadata["read"](raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "index_dir" in values:
            values["index_dir"] = Path(str(values["index_dir"]))
        return cls(**values)  # type: ignore[arg-type]

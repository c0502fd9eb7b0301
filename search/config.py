"""Settings, read once from the environment with defaults that suit a checkout.

The CLI overrides them from its flags; tests build ``Settings`` directly, so nothing
else reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
DEFAULT_INDEX_DIR = CHECKOUT / "index"
SHARED_DIR = CHECKOUT.parent / "shared"


@dataclass(frozen=True)
class Settings:
    """What the server and the indexer need to know about their surroundings."""

    index_dir: Path = DEFAULT_INDEX_DIR
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    search_time_limit_s: float = 2.0
    refresh_interval_s: float = 0.5
    result_cache_size: int = 256
    # The engine new indexes are built with; None: the served index's own.
    engine: str | None = None
    # A sharded index's replicas (search.shards); None: the index is in index_dir.
    shards: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from ``SEARCH_*`` variables, then apply non-None overrides."""
        env = os.environ
        values: dict[str, object] = {
            "index_dir": Path(env.get("SEARCH_INDEX_DIR", str(DEFAULT_INDEX_DIR))),
            "bind": env.get("SEARCH_BIND", cls.bind),
            "workers": int(env.get("SEARCH_WORKERS", cls.workers)),
            "search_time_limit_s": float(env.get("SEARCH_TIME_LIMIT_S", cls.search_time_limit_s)),
            "refresh_interval_s": float(
                env.get("SEARCH_REFRESH_INTERVAL_S", cls.refresh_interval_s)
            ),
            "result_cache_size": int(env.get("SEARCH_RESULT_CACHE", cls.result_cache_size)),
            "engine": env.get("SEARCH_ENGINE") or None,
            "shards": env.get("SEARCH_SHARDS") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["index_dir"] = Path(str(values["index_dir"]))
        return cls(**values)  # type: ignore[arg-type]

"""The store the settings name: shards when ``SEARCH_SHARDS`` (``--shards``) is
given, else generations in the index folder."""

from __future__ import annotations

from search.config import Settings
from search.engines.base import Failover
from search.shards import Shards
from search.stores.base import Store
from search.stores.local import LocalStore
from search.stores.sharded import ShardedStore

# The engine a sharded index is built with unless told otherwise: the one that shards.
SHARDED_ENGINE = "xapian"


def open_store(settings: Settings, on_failover: Failover | None = None) -> Store:
    """The index the settings name: on ``shards`` when given, else in ``index_dir``.

    Raises:
        InvalidShards: the shards spec cannot be read.
        ReindexError: the engine cannot be sharded or is not installed.
    """
    if not settings.shards:
        return LocalStore(settings.index_dir)
    return ShardedStore(
        settings.index_dir,
        Shards.parse(settings.shards),
        settings.engine or SHARDED_ENGINE,
        settings.search_time_limit_s,
        on_failover,
    )

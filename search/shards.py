"""Where a sharded index lives: the ``--shards`` spec, and the shard of each article.

A spec is a comma-separated list of shards, each one or more ``host:port`` replicas
separated by ``|``: ``10.0.0.1:9101|10.0.0.2:9101,10.0.0.3:9102|10.0.0.4:9102`` is
two shards of two replicas each. Replicas of a shard hold the same articles; an
article's shard is a stable hash of its id, the same in every process and run, so
an incremental reindex finds it where the last run put it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from search.errors import InvalidShards


@dataclass(frozen=True)
class Replica:
    """One server holding a copy of one shard."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Shards:
    """The shards of an index, each a tuple of replicas in the order to try them."""

    replicas: tuple[tuple[Replica, ...], ...]

    @classmethod
    def parse(cls, spec: str) -> Shards:
        """Raises:
        InvalidShards: the spec is empty, or a replica is not ``host:port``.
        """
        shards = tuple(
            tuple(_replica(text.strip()) for text in shard.split("|"))
            for shard in spec.split(",")
            if shard.strip()
        )
        if not shards:
            raise InvalidShards("no shards given: expected host:port[|host:port][,...]")
        replicas = [replica for shard in shards for replica in shard]
        if len(set(replicas)) != len(replicas):
            raise InvalidShards(f"a replica appears twice in {spec!r}")
        return cls(shards)

    def __len__(self) -> int:
        return len(self.replicas)

    def __str__(self) -> str:
        return ",".join("|".join(str(r) for r in shard) for shard in self.replicas)

    def shard_of(self, doc_id: str) -> int:
        """The shard an article belongs to (``hash()`` differs between processes)."""
        digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % len(self.replicas)


def _replica(text: str) -> Replica:
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidShards(f"replica {text!r} is not host:port")
    return Replica(host, int(port))

"""The --shards spec and the shard of an article."""

from __future__ import annotations

import pytest

from search.errors import InvalidShards
from search.shards import Replica, Shards


def test_a_spec_lists_shards_of_replicas() -> None:
    shards = Shards.parse("10.0.0.1:9101|10.0.0.2:9101, 10.0.0.3:9102|[::1]:9102")
    assert shards.replicas == (
        (Replica("10.0.0.1", 9101), Replica("10.0.0.2", 9101)),
        (Replica("10.0.0.3", 9102), Replica("::1", 9102)),
    )
    assert str(shards) == "10.0.0.1:9101|10.0.0.2:9101,10.0.0.3:9102|[::1]:9102"
    assert len(Shards.parse("h:1")) == 1


@pytest.mark.parametrize(
    "spec", ["", " , ", "host", "host:", ":80", "host:http", "host:0", "host:70000", "a:1,a:1"]
)
def test_a_bad_spec_is_named(spec: str) -> None:
    with pytest.raises(InvalidShards):
        Shards.parse(spec)


def test_an_article_keeps_its_shard_and_shards_share_the_articles() -> None:
    shards = Shards.parse("a:1,b:2,c:3")
    ids = [f"politics/{n:03d}" for n in range(300)]
    placed = [shards.shard_of(doc_id) for doc_id in ids]
    # Stable: the same in every process and release (a fixed hash, not Python's
    # salted one), or a reindex would look for articles on the wrong shard.
    assert placed[:8] == [0, 1, 1, 2, 1, 0, 2, 2]
    assert shards.shard_of("politics/000") == Shards.parse("x:1,y:2,z:3").shard_of("politics/000")
    assert all(60 < placed.count(shard) < 140 for shard in range(3))

"""One storage protocol, two stores: the indexer and the service see no other."""

from __future__ import annotations

import pytest

from search.stores.base import Store
from search.stores.local import LocalStore
from search.stores.sharded import ShardedStore


@pytest.mark.parametrize("store", [LocalStore, ShardedStore])
def test_a_store_implements_every_member_of_the_protocol_and_no_subclassing(store: type) -> None:
    members = {name for name in vars(Store) if not name.startswith("_")}
    assert members <= set(vars(store)), sorted(members - set(vars(store)))
    assert store.__bases__ == (object,)

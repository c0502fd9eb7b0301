"""The Xapian reader over a database that other processes keep committing to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

xapian = pytest.importorskip("xapian")

from search.engines.xapian.reader import REOPEN_TRIES, XapianReader  # noqa: E402
from search.errors import IndexChanging  # noqa: E402
from search.ingest.people import PersonFinder  # noqa: E402
from tests.conftest import index_of_records  # noqa: E402


class Discarded:
    """A database whose first ``times`` reads find their revision discarded, as
    Xapian says when two newer commits have overwritten what it was reading."""

    def __init__(self, db: Any, times: int = 1) -> None:
        self.db = db
        self.reopened = 0
        self.times = times

    def reopen(self) -> None:
        self.reopened += 1
        self.db.reopen()

    def __getattr__(self, name: str) -> Any:
        if self.times > 0:
            self.times -= 1
            raise xapian.DatabaseModifiedError("The revision being read has been discarded")
        return getattr(self.db, name)


def test_a_read_of_a_discarded_revision_is_made_again_on_the_newest(
    tmp_path: Path, finder: PersonFinder
) -> None:
    records = [{"id": "a", "title": "Budget day", "body": "The budget was read.", "people": []}]
    store = index_of_records(tmp_path, records, "xapian", finder)
    reader = XapianReader(store.root / str(store.current_name()))
    reader.db = Discarded(reader.db)  # type: ignore[assignment]
    article = reader.document("a")
    assert article is not None and article.title == "Budget day"
    assert reader.db.reopened == 1  # type: ignore[attr-defined]


def test_a_read_whose_revision_goes_again_while_it_is_made_again_is_answered(
    tmp_path: Path, finder: PersonFinder
) -> None:
    """Under a steady push the writer commits again during the retry; a few times
    over is still an answer, and past ``REOPEN_TRIES`` a 503 to try again."""
    records = [{"id": "a", "title": "Budget day", "body": "The budget was read.", "people": []}]
    store = index_of_records(tmp_path, records, "xapian", finder)
    reader = XapianReader(store.root / str(store.current_name()))
    reader.db = Discarded(reader.db, times=REOPEN_TRIES - 1)  # type: ignore[assignment]
    assert reader.doc_count() == 1
    reader.db = Discarded(reader.db.db, times=REOPEN_TRIES)  # type: ignore[assignment]
    with pytest.raises(IndexChanging) as raised:
        reader.doc_count()
    assert raised.value.status == 503

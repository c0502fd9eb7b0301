"""The Xapian reader over a database that other processes keep committing to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

xapian = pytest.importorskip("xapian")

from search.engines.xapian.reader import XapianReader  # noqa: E402
from search.ingest.people import PersonFinder  # noqa: E402
from tests.conftest import index_of_records  # noqa: E402


class Discarded:
    """A database whose first read finds its revision discarded, as Xapian says when
    two newer commits have overwritten what it was reading."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.reopened = 0
        self.failed = False

    def reopen(self) -> None:
        self.reopened += 1
        self.db.reopen()

    def __getattr__(self, name: str) -> Any:
        if not self.failed:
            self.failed = True
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

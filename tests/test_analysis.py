"""What a word is: diacritics folded on both engines, highlights marking the text as
written."""

from __future__ import annotations

import pytest

from search.analysis import without_accents
from search.ingest.people import PersonFinder
from search.service import SearchService
from tests.conftest import highlighted, index_of_records

ARTICLES = [
    ("elysee", "Talks at the Élysée Palace", "Ministers met at the Élysée on Monday."),
    ("munich", "München votes", "Voters in München chose a new mayor."),
    ("gdansk", "Shipyard news", "The shipyard in Gdańsk reopened."),
    ("erdogan", "Ankara talks", "President Erdoğan spoke in Ankara."),
    ("plain", "Paris visit", "The Elysee said the visit would go ahead."),
]


@pytest.mark.parametrize(
    ("written", "typed"),
    [("Élysée", "elysee"), ("München", "munchen"), ("Gdańsk", "gdansk"), ("Erdoğan", "erdogan"),
     ("Łódź", "lodz"), ("naïve", "naive"), ("crème brûlée", "creme brulee"), ("plain", "plain")],
)  # fmt: skip
def test_a_word_without_its_diacritics(written: str, typed: str) -> None:
    assert without_accents(written.lower()) == typed


@pytest.fixture(scope="module", params=["whoosh", "xapian"])
def accented(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, finder: PersonFinder
) -> SearchService:
    records = [{"id": i, "title": t, "body": b, "people": []} for i, t, b in ARTICLES]
    folder = tmp_path_factory.mktemp("accents")
    return SearchService(index_of_records(folder, records, request.param, finder), cache_size=0)


@pytest.mark.parametrize(
    ("q", "ids", "marked"),
    [("elysee", {"elysee", "plain"}, "<mark>Élysée</mark>"),
     ("munchen", {"munich"}, "<mark>München</mark>"),
     ("gdansk", {"gdansk"}, "<mark>Gdańsk</mark>"),
     ("erdogan", {"erdogan"}, "<mark>Erdoğan</mark>"),
     ("Élysée", {"elysee", "plain"}, "<mark>Elysee</mark>"),
     ("gdań*", {"gdansk"}, "<mark>Gdańsk</mark>")],
)  # fmt: skip
def test_a_word_typed_without_its_diacritics_finds_it_marked_as_written(
    accented: SearchService, q: str, ids: set[str], marked: str
) -> None:
    hits = highlighted(accented, q)
    assert set(hits) == ids
    assert any(marked in body for body in hits.values()), hits

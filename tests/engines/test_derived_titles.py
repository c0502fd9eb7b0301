"""A title derived from the lead sentence of an article without a headline is shown
and searchable with ``title:``, but weighs nothing more than the body it comes from,
on every engine."""

from __future__ import annotations

import pytest

from search.ingest.people import PersonFinder
from search.query.params import parse_request
from search.service import SearchService
from tests.conftest import index_of_records

LEAD = "The harbour ferry will run twice a day from June."
REST = "The council agreed the timetable on Monday after a long debate about costs."
RECORDS = [
    {"id": "untitled", "body": f"{LEAD} {REST}"},
    {"id": "headline", "title": "Harbour ferry timetable", "body": f"{LEAD} {REST}"},
    {"id": "other", "title": "Council news", "body": f"{LEAD} {REST}"},
]


@pytest.fixture(scope="module", params=["whoosh", "xapian"])
def titled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, finder: PersonFinder
) -> SearchService:
    records = [{**record, "people": []} for record in RECORDS]
    folder = tmp_path_factory.mktemp("titles")
    return SearchService(index_of_records(folder, records, request.param, finder), cache_size=0)


def scores(service: SearchService, q: str) -> dict[str, float]:
    return {hit.id: hit.score or 0.0 for hit in service.search(parse_request({"q": q})).hits}


def test_a_derived_title_is_shown_and_found_with_title(titled: SearchService) -> None:
    hit = titled.search(parse_request({"q": "title:ferry"})).hits
    assert {h.id for h in hit} == {"untitled", "headline"}
    assert next(h for h in hit if h.id == "untitled").title == LEAD.rstrip(".")


def test_a_derived_title_adds_no_weight_and_a_headline_does(titled: SearchService) -> None:
    found = scores(titled, "harbour ferry")
    # The derived title's words count once, in the body, as for an unrelated headline.
    assert found["untitled"] == pytest.approx(found["other"], rel=0.15)
    assert found["headline"] > 1.3 * found["untitled"]

"""``recency``: newer articles rank higher, the text match still deciding between
articles of a similar age, the same on both engines."""

from __future__ import annotations

import datetime as dt

import pytest

from search.ingest.people import PersonFinder
from search.model import Recency
from search.query.params import parse_request
from search.service import SearchService
from tests.conftest import index_of_records

SAME = "The harbour council met to discuss the harbour ferry timetable."
ARTICLES = [
    # Two that match alike, a year apart.
    ("ferry-old", "2024-06-01", "Harbour ferry", SAME),
    ("ferry-new", "2025-06-01", "Harbour ferry", SAME),
    # One that matches far better but is old, one that barely matches but is new.
    ("strong-old", "2023-01-10", "Lighthouse keeper", "Lighthouse lighthouse lighthouse keeper."),
    ("weak-new", "2025-06-02", "Town news", "The town fair, the school play, the market and "
     + "the weather. " * 30 + "A lighthouse tour is planned."),
    ("undated", None, "Harbour ferry", SAME),
]  # fmt: skip


@pytest.fixture(scope="module", params=["whoosh", "xapian"])
def dated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, finder: PersonFinder
) -> SearchService:
    records = [{"id": i, "date": d, "title": t, "body": b, "people": []} for i, d, t, b in ARTICLES]
    folder = tmp_path_factory.mktemp("recency")
    return SearchService(index_of_records(folder, records, request.param, finder), cache_size=0)


def ranked(service: SearchService, **params: str) -> list[str]:
    return [hit.id for hit in service.search(parse_request(params)).hits]


def test_of_two_articles_matching_alike_the_newer_ranks_first(dated: SearchService) -> None:
    plain = ranked(dated, q="harbour ferry")
    recent = ranked(dated, q="harbour ferry", recency="30d")
    assert set(plain) == set(recent) == {"ferry-old", "ferry-new", "undated"}
    assert recent.index("ferry-new") < recent.index("ferry-old")
    assert recent[-1] == "undated"  # no date, no recency part


def test_a_far_better_old_match_still_outranks_a_new_one_that_barely_matches(
    dated: SearchService,
) -> None:
    assert ranked(dated, q="lighthouse", recency="30d") == ["strong-old", "weak-new"]


def test_recency_keeps_totals_and_reports_the_blended_score(dated: SearchService) -> None:
    plain = dated.search(parse_request({"q": "harbour ferry"}))
    recent = dated.search(parse_request({"q": "harbour ferry", "recency": "30d"}))
    assert recent.total == plain.total == 3
    scores = {hit.id: hit.score for hit in recent.hits}
    best = max(hit.score or 0.0 for hit in plain.hits)
    # A day younger than the newest article (weak-new), its recency part is
    # almost the whole share of the best score.
    part = Recency.SHARE * 2 ** (-1 / 30)
    assert scores["ferry-new"] == pytest.approx(best * (1 + part), rel=1e-3)


def test_ages_count_from_the_newest_article_and_never_from_the_future() -> None:
    recency = Recency(30.0)
    origin = recency.origin("2025-06-02", today=dt.date(2026, 1, 1))
    assert origin == dt.date(2025, 6, 2)
    assert recency.decay("2025-05-03", origin) == pytest.approx(0.5)
    assert recency.decay("2025-06-02", origin) == 1.0
    assert recency.decay(None, origin) == 0.0
    assert recency.origin("2030-01-01", today=dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)

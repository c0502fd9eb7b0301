"""Synonyms at query time: the tree widened once for every engine, then matched,
ranked and highlighted by each engine as any other query."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.errors import InvalidBody
from search.ingest.people import PersonFinder
from search.model import And, Or, Phrase, Word
from search.query import language as ql
from search.query.synonyms import SynonymStore, parse
from search.service import SearchService
from tests.conftest import highlighted, index_of_records

SET = [{"synonyms": ["uk", "united kingdom", "Britain"]},
       {"root": "pm", "synonyms": ["prime minister"]}]  # fmt: skip
ARTICLES = [
    ("britain", "Britain votes", "Britain held a vote on Thursday."),
    ("kingdom", "Kingdom news", "The United Kingdom government said so."),
    ("uk", "Economy", "The UK economy grew last year."),
    ("united", "Football", "United won and the kingdom of fans cheered."),
    ("pm", "Questions", "The PM spoke in the chamber."),
    ("minister", "Speech", "The prime minister spoke in the chamber."),
]
UK = Or((Word("uk"), Phrase("united kingdom"), Word("britain")))


@pytest.mark.parametrize(
    ("q", "expanded"),
    [("uk", UK),
     ("UK vote", And((Or((Word("UK"), *UK.parts[1:])), Word("vote")))),
     ("united kingdom vote", And((Or((Phrase("united kingdom"), Word("uk"), Word("britain"))),
                                  Word("vote")))),
     ('"united kingdom"', Or((Phrase("united kingdom"), Word("uk"), Word("britain")))),
     ("title:britain", Or((Word("britain", "title"), Word("uk", "title"),
                           Phrase("united kingdom", "title")))),
     ("pm", Or((Word("pm"), Phrase("prime minister")))),
     ("prime minister", And((Word("prime"), Word("minister")))),
     ("-uk vote", ql.parse("-uk vote")),
     ("people:britain", ql.parse("people:britain"))],
)  # fmt: skip
def test_members_and_roots_widen_the_tree(q: str, expanded: object) -> None:
    assert parse(SET).expand(ql.parse(q)) == expanded


@pytest.mark.parametrize(
    "entries",
    [{"synonyms": []}, [{"synonyms": ["only one"]}], [{"root": "pm"}], [{"synonyms": ["a", 3]}],
     [{"synonyms": ["a b c d e", "x"]}], [{"synonyms": ["a", "b"], "extra": 1}], ["uk"]],
)  # fmt: skip
def test_a_bad_set_is_refused_naming_the_entry(entries: object) -> None:
    with pytest.raises(InvalidBody):
        parse(entries)


@pytest.fixture(scope="module", params=["whoosh", "xapian"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, finder: PersonFinder
) -> SearchService:
    records = [{"id": i, "title": t, "body": b, "people": []} for i, t, b in ARTICLES]
    store = index_of_records(tmp_path_factory.mktemp("synonyms"), records, request.param, finder)
    synonyms = SynonymStore(store.root)
    synonyms.put(SET)
    return SearchService(store, synonyms=synonyms)


def test_a_member_finds_the_others_marked(service: SearchService) -> None:
    found = highlighted(service, "uk")
    assert set(found) == {"britain", "kingdom", "uk"}  # not "united ... kingdom"
    assert "<mark>Britain</mark>" in found["britain"]
    assert "<mark>United</mark> <mark>Kingdom</mark>" in found["kingdom"]
    assert (
        set(highlighted(service, "united kingdom"))
        == set(highlighted(service, "britain"))
        == set(found)
    )


def test_a_root_finds_its_synonyms_and_not_the_other_way(service: SearchService) -> None:
    assert set(highlighted(service, "pm")) == {"pm", "minister"}
    assert set(highlighted(service, '"prime minister"')) == {"minister"}


def test_a_new_set_applies_to_the_next_search(service: SearchService, tmp_path: Path) -> None:
    assert service.synonyms is not None
    service.synonyms.put([])
    try:
        assert set(highlighted(service, "uk")) == {"uk"}
    finally:
        service.synonyms.put(SET)
    assert set(highlighted(service, "uk")) == {"britain", "kingdom", "uk"}

"""Did you mean: the rule, with a vocabulary made up here, and each engine's speller."""

from __future__ import annotations

from pathlib import Path

from search.deadline import Deadline
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore
from search.suggestions import suggestion


class Vocabulary:
    """Index forms are the words themselves; "the" is a stop word."""

    def __init__(self, frequencies: dict[str, int], near: dict[str, list[str]]) -> None:
        self.frequencies = frequencies
        self.near = near

    def analyzed(self, word: str) -> str | None:
        return None if word == "the" else word

    def doc_frequency(self, form: str) -> int:
        return self.frequencies.get(form, 0)

    def spellings(self, word: str, deadline: Deadline) -> list[str]:
        return self.near.get(word, [])


NEWS = Vocabulary(
    {"government": 600, "plans": 200, "goverment": 1, "montreal": 2, "mongrel": 20, "brown": 130},
    {"goverment": ["government"], "montreal": ["mongrel"], "brown": ["known"]},
)


def later() -> Deadline:
    return Deadline.after(60)


def test_an_unknown_word_becomes_its_more_frequent_spelling() -> None:
    vocabulary = Vocabulary({"government": 5, "plans": 3}, {"goverment": ["government"]})
    assert suggestion("Goverment plans", vocabulary, later()) == "government plans"


def test_a_word_in_one_document_is_rare() -> None:
    assert suggestion("goverment plans", NEWS, later()) == "government plans"


def test_a_word_in_two_documents_is_a_word() -> None:
    """Not a typo for a more frequent word two edits away ("mongrel")."""
    assert suggestion("montreal", NEWS, later()) is None
    assert suggestion("brown", NEWS, later()) is None


def test_only_a_spelling_in_more_documents_is_offered() -> None:
    vocabulary = Vocabulary(
        {"goverment": 1, "governess": 1, "government": 50},
        {"goverment": ["governess", "government"]},
    )
    assert suggestion("goverment", vocabulary, later()) == "government"
    vocabulary.near["goverment"] = ["governess"]
    assert suggestion("goverment", vocabulary, later()) is None


def test_stop_words_are_left_as_typed() -> None:
    assert suggestion("the goverment", NEWS, later()) == "the government"


def test_no_suggestion_past_the_deadline() -> None:
    assert suggestion("goverment", NEWS, Deadline.after(0)) is None


def test_each_engine_spells_from_its_vocabulary(index_dir: Path) -> None:
    """The nearest indexed word first, and its documents counted as a search counts them."""
    generation = LocalStore(index_dir).open_current()
    service = SearchService(LocalStore(index_dir), cache_size=0)
    try:
        reader = generation.reader
        assert reader.spellings("kushnr", later())[0] == "kushner"
        assert reader.spellings("kushnr", Deadline.after(0)) == []
        form = reader.analyzed("kushner")
        assert form is not None
        total = service.search(parse_request({"q": "kushner"})).total
        assert reader.doc_frequency(form) == total > 0
    finally:
        service.close()
        generation.close()

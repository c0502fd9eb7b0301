"""Did you mean: the rule, with a vocabulary made up here, and each engine's speller."""

from __future__ import annotations

from pathlib import Path

from search.deadline import Deadline
from search.query import parse_request
from search.searcher import SearchService
from search.store import IndexStore
from search.suggestions import suggestion

# The BBC set once and copied 16 times: a typo's article is 1 of 2,225, then 16 of 35,600.
BBC_DOCUMENTS = 2_225
BBC_16X_DOCUMENTS = 16 * BBC_DOCUMENTS


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
    {"government": 9_600, "plans": 3_000, "goverment": 16, "governess": 40, "brown": 2_080},
    {"goverment": ["government"], "brown": ["known"]},
)


def later() -> Deadline:
    return Deadline.after(60)


def test_an_unknown_word_becomes_its_more_frequent_spelling() -> None:
    vocabulary = Vocabulary({"government": 5, "plans": 3}, {"goverment": ["government"]})
    assert suggestion("Goverment plans", vocabulary, BBC_DOCUMENTS, later()) == "government plans"


def test_a_word_is_rare_in_a_share_of_the_documents_not_a_count() -> None:
    """16 documents of 35,600 is as rare as 1 of 2,225; of 2,225 it is not."""
    assert suggestion("goverment plans", NEWS, BBC_16X_DOCUMENTS, later()) == "government plans"
    assert suggestion("goverment plans", NEWS, BBC_DOCUMENTS, later()) is None


def test_a_frequent_word_is_never_corrected() -> None:
    assert suggestion("brown", NEWS, BBC_16X_DOCUMENTS, later()) is None


def test_only_a_spelling_in_more_documents_is_offered() -> None:
    vocabulary = Vocabulary(
        {"goverment": 2, "governess": 1, "government": 50},
        {"goverment": ["governess", "government"]},
    )
    assert suggestion("goverment", vocabulary, BBC_DOCUMENTS, later()) == "government"
    vocabulary.near["goverment"] = ["governess"]
    assert suggestion("goverment", vocabulary, BBC_DOCUMENTS, later()) is None


def test_stop_words_are_left_as_typed() -> None:
    assert suggestion("the goverment", NEWS, BBC_16X_DOCUMENTS, later()) == "the government"


def test_no_suggestion_past_the_deadline() -> None:
    assert suggestion("goverment", NEWS, BBC_16X_DOCUMENTS, Deadline.after(0)) is None


def test_each_engine_spells_from_its_vocabulary(index_dir: Path) -> None:
    """The nearest indexed word first, and its documents counted as a search counts them."""
    generation = IndexStore(index_dir).open_current()
    service = SearchService(IndexStore(index_dir), cache_size=0)
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

"""Completions for a search box: the keys every engine indexes, and what ``/suggest``
makes of them, on both engines."""

from __future__ import annotations

import pytest

from search.completions import Completion, complete, completion_keys, last_word
from search.model import Article
from search.query.params import parse_request
from search.service import SearchService


def test_an_article_gives_each_word_of_each_person_and_its_title_words() -> None:
    article = Article("a", "Zelensky's visit: Élysée talks on Ukraine", "body",
                      people=["Volodymyr Zelensky", "Keir Starmer"])  # fmt: skip
    keys = completion_keys(article)
    assert keys["person"] == {
        "volodymyr\x1fVolodymyr Zelensky", "zelensky\x1fVolodymyr Zelensky",
        "keir\x1fKeir Starmer", "starmer\x1fKeir Starmer",
    }  # fmt: skip
    assert keys["word"] == {
        "zelensky\x1fzelensky", "visit\x1fvisit", "elysee\x1félysée", "talks\x1ftalks",
        "ukraine\x1fukraine",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("q", "word"),
    [("kei", "kei"), ("prime min", "min"), ("people:Sta", "sta"), ("Élys", "elys"),
     ("keir ", ""), ("", "")],
)  # fmt: skip
def test_the_last_word_typed_is_completed(q: str, word: str) -> None:
    assert last_word(q) == word


class Keys:
    def __init__(self, keys: dict[str, list[tuple[str, int]]]) -> None:
        self.keys = keys

    def completion_keys(self, kind: str, prefix: str, most: int) -> list[tuple[str, int]]:
        return [(key, n) for key, n in self.keys[kind] if key.startswith(prefix)][:most]


def test_completions_rank_by_articles_and_count_a_name_or_a_word_once() -> None:
    keys = Keys({
        "person": [("kearney\x1fMark Kearney", 2), ("keir\x1fKeir Starmer", 12),
                   ("kemp\x1fKeir Kemp", 1), ("keir\x1fKeir Kemp", 1)],
        "word": [("keith\x1fkeith", 3), ("kenya\x1fkenya", 12), ("kepler\x1fképler", 2),
                 ("kepler\x1fkepler", 1)],
    })  # fmt: skip
    assert complete(keys, "ke", 5) == [
        Completion("Keir Starmer", "person", 12), Completion("kenya", "word", 12),
        Completion("keith", "word", 3), Completion("képler", "word", 3),
        Completion("Mark Kearney", "person", 2),
    ]  # fmt: skip
    assert complete(keys, "kei ", 5) == []


def person_count(service: SearchService, name: str) -> int:
    facets = service.search(parse_request({"facets": "people"})).facets["people"]
    return next(value["count"] for value in facets if value["value"] == name)


@pytest.mark.parametrize(
    ("typed", "text", "kind"),
    [("kei", "Keir Starmer", "person"), ("sta", "Keir Starmer", "person"),
     ("zel", "Volodymyr Zelensky", "person"), ("budg", "budget", "word")],
)  # fmt: skip
def test_each_engine_completes_people_and_title_words(
    service: SearchService, typed: str, text: str, kind: str
) -> None:
    found = service.suggest(typed, 8)
    shown = {(c.text, c.kind): c.count for c in found}
    assert (text, kind) in shown, found
    if kind == "person":
        assert shown[text, kind] == person_count(service, text)
    assert [c.count for c in found] == sorted((c.count for c in found), reverse=True)
    assert service.suggest(typed, 1) == found[:1]

"""People: NER on the samples and on texts made for the purpose."""

from __future__ import annotations

import pytest

from search.ingest.extract import extract
from search.ingest.people import NER_CHUNK, PersonFinder
from tests.conftest import BBC, SAMPLE_A, SAMPLE_B
from tests.ingest.test_extract import sample

PEOPLE_A = [
    "Donald Trump",
    "Emmanuel Macron",
    "Jared Kushner",
    "Keir Starmer",
    "Volodymyr Zelensky",
    "Friedrich Mertz",
    "Nicolas Maduro",
    "Steve Witkoff",
    "Vladimir Putin",
    "Rose Gottemoeller",
]
# By mentions: the second scrape names Trump 6 times, Kushner 5, Macron 4.
PEOPLE_B = [
    "Donald Trump",
    "Jared Kushner",
    "Emmanuel Macron",
    "Keir Starmer",
    "Volodymyr Zelensky",
    "Friedrich Mertz",
    "Nicolas Maduro",
    "Steve Witkoff",
    "Vladimir Putin",
]


@pytest.mark.parametrize(("name", "expected"), [(SAMPLE_A, PEOPLE_A), (SAMPLE_B, PEOPLE_B)])
def test_sample_people_are_canonical_and_ordered(
    finder: PersonFinder, name: str, expected: list[str]
) -> None:
    text = extract(sample(name))
    people = next(iter(finder.people([f"{text.title}\n\n{text.body}"])))
    assert people == expected
    assert "Elysée" not in people and "Keir" not in people


def test_parallel_ner_finds_what_one_process_finds(finder: PersonFinder) -> None:
    texts = [path.read_text(encoding="latin-1") for path in sorted(BBC.glob("politics/*.txt"))]
    texts = texts[: NER_CHUNK * 2 + 3]  # enough for two workers and a short last chunk
    parallel = list(finder.mentions(texts, jobs=2))
    assert parallel == list(finder.mentions(texts, jobs=1))
    assert len(parallel) == len(texts) and any("Tony Blair" in names for names in parallel)


def test_mentions_come_back_one_list_per_text_whatever_its_paragraphs(
    finder: PersonFinder,
) -> None:
    """NER runs paragraph by paragraph; each text still gets its own mentions, in
    order, an empty text or one of blank lines an empty list."""
    texts = [
        "",
        "Tony Blair met Gordon Brown on Monday.\n\nLater, Tony Blair left for Brussels.",
        "\n\n  \n",
        "Michael Howard spoke.",
    ]
    found = list(finder.mentions(texts))
    assert found == [[], ["Tony Blair", "Gordon Brown", "Tony Blair"], [], ["Michael Howard"]]

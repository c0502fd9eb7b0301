"""Names: canonicalisation rules on hand-made mentions."""

from __future__ import annotations

import pytest

from search.ingest.names import Canon, canonical_people, clean_mention


@pytest.mark.parametrize(
    ("mention", "tokens"),
    [
        ("Sir Keir", ("Keir",)),
        ("Mr Kushner", ("Kushner",)),
        ("President Emmanuel Macron", ("Emmanuel", "Macron")),
        ("Donald Trump’s", ("Donald", "Trump")),
        ("Ursula von der Leyen", ("Ursula", "von", "der", "Leyen")),
        ("the 2024 team", ()),
        ("Mr", ()),
        # A number, score or rank beside a name in a table is not part of it.
        ("4 - Pete Sampras", ("Pete", "Sampras")),
        ("K. Spiring 130", ("K.", "Spiring")),
        ("Robert Pires 46th", ("Robert", "Pires")),
        # An initial keeps its dot, as the article (and CoNLL's gold) writes it.
        ("T. Moody", ("T.", "Moody")),
        ("Mr. J.R. Smith.", ("J.R", "Smith")),
        # An occupation before a full name is not part of it.
        ("Model Sophie Anderton", ("Sophie", "Anderton")),
        ("Producer Aamir Khan", ("Aamir", "Khan")),
        ("Star Jones", ("Star", "Jones")),
        # Parties, clubs and companies the model tags PERSON.
        ("Lib Dems", ()),
        ("the Lib Dem", ()),
        ("Manchester United", ()),
        ("Pernod Ricard SA", ()),
    ],
)
def test_clean_mention(mention: str, tokens: tuple[str, ...]) -> None:
    assert clean_mention(mention) == tokens


def test_partial_mentions_resolve_to_full_names() -> None:
    mentions = [
        "Keir Starmer",
        "Starmer",
        "Sir Keir",
        "Mr Kushner",
        "Jared Kushner",
        "Kushner",
        "Elysée",
    ]
    assert canonical_people(mentions) == ["Keir Starmer", "Jared Kushner"]


def test_prominence_orders_by_mentions_then_first_position() -> None:
    mentions = ["Ann Lee", "Bob Stone", "Stone", "Ann Lee", "Cy Young", "Mr Stone"]
    assert canonical_people(mentions) == ["Bob Stone", "Ann Lee", "Cy Young"]


def test_canon_keeps_one_spelling_across_articles() -> None:
    canon = Canon()
    assert canon(["Volodymyr Zelensky"]) == ["Volodymyr Zelensky"]
    assert canon(["volodymyr zelensky", "José Mourinho"]) == ["Volodymyr Zelensky", "José Mourinho"]
    assert canon(["Jose Mourinho"]) == ["José Mourinho"]

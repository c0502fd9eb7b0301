"""Mentions: the model's persons and those found by their shape, on paragraphs
written out with the entities a model would give them."""

from __future__ import annotations

from search.ingest.mentions import Entity, Paragraph, person_mentions


def paragraph(text: str, **labelled: list[str]) -> Paragraph:
    """``text`` with each listed span labelled (``PERSON=["Tom Hanks"]``)."""
    entities = [
        Entity(text.index(span), text.index(span) + len(span), label)
        for label, spans in labelled.items()
        for span in spans
    ]
    return Paragraph(text, tuple(sorted(entities, key=lambda entity: entity.start)))


def test_a_name_in_quotes_is_a_title_not_a_person() -> None:
    titles = paragraph(
        'Tom Hanks starred in "Cast Away" and ‘Big’.', PERSON=["Tom Hanks", "Cast Away", "Big"]
    )
    assert person_mentions([titles]) == ["Tom Hanks"]
    speech = paragraph('"Tom Hanks was there," she said.', PERSON=["Tom Hanks"])
    assert person_mentions([speech]) == ["Tom Hanks"]


def test_an_initial_and_a_surname_is_a_person_unless_the_model_read_a_place() -> None:
    scores = paragraph(
        "Hampshire 232 (A. Fraser 5-79, P. Tufnell 4-39). S. Korea won.",
        PERSON=["P. Tufnell"],
        GPE=["Hampshire", "S. Korea"],
    )
    assert person_mentions([scores]) == ["A. Fraser", "P. Tufnell"]
    assert person_mentions([paragraph("It ended World War I. The peace held.")]) == []


def test_a_compass_point_before_a_country_is_a_place_even_if_the_model_says_person() -> None:
    headline = paragraph(
        "N. Korea urges S. Korea to return S. African and N. Irish war veteran S. Irwin.",
        PERSON=["N. Korea", "S. Korea", "S. African"],
    )
    assert person_mentions([headline]) == ["S. Irwin"]


LINE_UP = (
    "South Africa - 15 - Andre Joubert, 14 - Justin Swart, 13 - Japie Mulder "
    "(Joel Stransky, 48 mins) 12 - Danie van Schalkwyk, 11 - Pieter Hendriks (captain)."
)


def test_the_names_of_a_line_up_are_persons_beside_those_the_model_tagged() -> None:
    line_up = paragraph(
        LINE_UP,
        GPE=["South Africa"],
        PERSON=["Andre Joubert", "Joel Stransky", "Pieter Hendriks"],
        CARDINAL=["14", "13", "12", "11"],
    )
    assert person_mentions([line_up]) == [
        "Andre Joubert",
        "Justin Swart",
        "Japie Mulder",
        "Joel Stransky",
        "Danie van Schalkwyk",
        "Pieter Hendriks",
    ]


def test_a_line_up_with_two_tagged_counts_the_names_the_report_gave_above_it() -> None:
    report = paragraph("Joel Stransky kicked the winning goal.", PERSON=["Joel Stransky"])
    line_up = paragraph(LINE_UP, GPE=["South Africa"], PERSON=["Andre Joubert", "Pieter Hendriks"])
    assert "Justin Swart" in person_mentions([report, line_up])
    assert "Justin Swart" not in person_mentions([line_up])


def test_a_results_table_is_read_a_line_with_its_neighbours() -> None:
    table = [
        paragraph("Women's 100 metres hurdles"),
        paragraph("1. Michelle Freeman (Jamaica) 12.71 seconds", PERSON=["Michelle Freeman"]),
        paragraph("2. Ludmila Engquist (Sweden) 12.74", PERSON=["Ludmila Engquist"]),
        paragraph("3. Brigita Bokovec (Slovenia) 12.92"),
        paragraph("4. Dionne Rose (Jamaica) 12.92", PERSON=["Dionne Rose"]),
    ]
    assert person_mentions(table) == [
        "Michelle Freeman",
        "Ludmila Engquist",
        "Brigita Bokovec",
        "Dionne Rose",
    ]


def test_prose_and_parentheses_are_not_lists() -> None:
    prose = paragraph(
        "Tony Blair, Gordon Brown, John Major, Abbey Road, and then In June they all "
        "said that the record was good.",
        PERSON=["Tony Blair", "Gordon Brown", "John Major"],
    )
    assert person_mentions([prose]) == ["Tony Blair", "Gordon Brown", "John Major"]
    squad = paragraph(
        "Backs: Mike Blair (Edinburgh Rugby), Andy Craig (Glasgow Rugby), Dan Parks (Glasgow Rugby)",
        PERSON=["Mike Blair", "Andy Craig", "Dan Parks"],
    )
    assert person_mentions([squad]) == ["Mike Blair", "Andy Craig", "Dan Parks"]


def test_a_name_in_capitals_is_a_person_only_if_the_article_gives_it_in_mixed_case() -> None:
    headline = paragraph("DURAN FIGHTS, BALTIMORE AT HOME", PERSON=["BALTIMORE AT", "DURAN"])
    body = paragraph("ROBERTO DURAN and Roberto Duran.", PERSON=["ROBERTO DURAN", "Roberto Duran"])
    assert person_mentions([headline, body]) == ["DURAN", "ROBERTO DURAN", "Roberto Duran"]


def test_the_entities_overlapping_a_span_are_those_sharing_a_character() -> None:
    entities = (Entity(0, 5, "PERSON"), Entity(10, 15, "GPE"), Entity(20, 25, "ORG"))
    line = Paragraph("x" * 30, entities)
    assert line.overlapping(4, 11) == list(entities[:2])
    assert line.overlapping(5, 10) == []
    assert line.overlapping(24, 30) == [entities[2]]
    assert line.overlapping(0, 30) == list(entities)

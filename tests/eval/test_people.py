"""Scoring people against CoNLL-style gold: reading, gold resolution, the measure."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.eval.people import evaluate_people, gold_people, read_conll, score
from search.ingest.people import PersonFinder
from tests.conftest import SHARED

# Two made-up documents in the CoNLL-2003 format (IOB1: I-PER, B-PER between two).
CONLL = """-DOCSTART- -X- O O

TENNIS NNP I-NP O
- : O O
HOLMES NNP I-NP I-PER
WINS VBZ I-VP O

LONDON NNP I-NP I-LOC

Kelly NNP I-NP I-PER
Holmes NNP I-NP I-PER
beat VBD I-VP O
Maria NNP I-NP I-PER
Sharapova NNP I-NP I-PER
in IN I-PP O
London NNP I-NP I-LOC
. . O O

Holmes NNP I-NP I-PER
said VBD I-VP O
Ronaldo NNP I-NP I-PER
Smith NNP I-NP B-PER
watched VBD I-VP O
( ( O O
he PRP I-NP O
's VBZ I-VP O
a DT I-NP O
fan NN I-NP O
) ) O O
. . O O

-DOCSTART- -X- O O

Markets NNS I-NP O
fell VBD I-VP O
. . O O
"""


@pytest.fixture
def conll(tmp_path: Path) -> Path:
    path = tmp_path / "sample.testa"
    path.write_text(CONLL)
    return path


def test_documents_read_as_articles_with_their_gold_persons(conll: Path) -> None:
    first, second = read_conll(conll)
    assert first.title == "TENNIS - HOLMES WINS"
    assert first.body.splitlines()[1] == "Kelly Holmes beat Maria Sharapova in London."
    assert first.body.splitlines()[2] == "Holmes said Ronaldo Smith watched (he's a fan)."
    # "HOLMES" and "Holmes" are Kelly Holmes; B-PER splits Ronaldo from Smith.
    assert first.people == {"Kelly Holmes", "Maria Sharapova", "Ronaldo", "Smith"}
    assert second.people == set()


def test_a_partial_name_is_the_full_name_it_resolves_to() -> None:
    assert gold_people(["Holmes", "Kelly Holmes", "Kelly", "Madonna"]) == [
        "Kelly Holmes",
        "Madonna",
    ]


def test_scores_are_micro_averaged_over_document_person_pairs() -> None:
    gold = {"a": {"Kelly Holmes", "Ronaldo"}, "b": {"Tony Blair"}}
    found = {"a": ["kelly holmes", "Lib Dems"], "b": ["Tony Blair"]}
    figures = score(gold, found)
    assert figures["precision"] == pytest.approx(2 / 3)
    assert figures["recall"] == pytest.approx(2 / 3)
    assert figures["F1"] == pytest.approx(2 / 3)
    assert score({"a": set()}, {})["F1"] == 0.0


def test_the_project_is_scored_through_the_index_beside_the_raw_model(
    conll: Path, finder: PersonFinder, tmp_path: Path
) -> None:
    scores = evaluate_people(conll, finder, tmp_path)
    assert set(scores) == {"project", "spaCy raw"}
    for figures in scores.values():
        assert set(figures) == {"precision", "recall", "F1"}
        assert all(0.0 <= value <= 1.0 for value in figures.values())
    # The two full names are found; "Ronaldo" and "Smith" side by side are the kind
    # of case the figure exists to show.
    assert scores["project"]["recall"] >= 0.5 and scores["spaCy raw"]["recall"] >= 0.5


@pytest.mark.slow
def test_people_on_the_conll_development_set_reach_the_issue_s_bar(
    finder: PersonFinder, tmp_path: Path
) -> None:
    """The people issue's bar, raised by the install issue to what the project printed
    then (docs/indexing.md, "How right the people are"): F1 0.925, above the model's
    raw mentions, through the index."""
    scores = evaluate_people(SHARED / "data" / "conll2003" / "eng.testa", finder, tmp_path)
    assert scores["project"]["F1"] >= 0.925, scores
    assert scores["project"]["F1"] > scores["spaCy raw"]["F1"]

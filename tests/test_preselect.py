"""Pre-selecting alerts (``search.preselect``): a cover never leaves out an alert
that would match, and leaves out the ones that cannot."""

from __future__ import annotations

from typing import Any

from search import preselect
from search.deadline import Deadline
from search.query.params import parse_request
from search.service import engine_query
from tests.query.test_language_parity import QUERIES


def test_no_alert_an_article_matches_is_left_out(reader: Any) -> None:
    """Every query of the parity set, against each article of the small corpus:
    where the search finds the article, its cover meets the article's forms."""
    ids = [doc.id for doc in reader.stored_docs()]
    covered = 0
    for q in QUERIES:
        tree = engine_query(parse_request({"q": q})).tree
        terms = preselect.cover(tree, reader.analyzed)
        covered += terms is not None
        query = engine_query(parse_request({"q": q, "per_page": "100"}))
        for match in reader.search(query, Deadline.after(10)).hits:
            held = preselect.forms([match.article], reader.analyzed)
            assert terms is None or terms & held, (q, match.article.id)
    assert covered > len(QUERIES) // 2 and len(ids) == 17


def test_covers_of_each_shape(reader: Any) -> None:
    def cover(q: str) -> set[str] | None:
        found = preselect.cover(engine_query(parse_request({"q": q})).tree, reader.analyzed)
        return None if found is None else set(found)

    form = reader.analyzed
    assert cover("elections") == {form("elections")}
    assert cover("budget AND tax") in ({form("budget")}, {form("tax")})
    assert cover("budget OR tax") == {form("budget"), form("tax")}
    assert cover('"prime minister"') == {form("prime")}
    for uncovered in ("elect*", "blaire~", "-budget", "", "date:[2026-01-01 TO *]", "e-mail",
                      "budget OR elect*"):  # fmt: skip
        assert cover(uncovered) is None, uncovered


def test_covers_find_the_alerts_an_article_could_match_and_the_uncovered(reader: Any) -> None:
    queries = ["elections", "budget OR tax", "elect*", '"prime minister"', "budget -tax", "wombat"]
    covers = preselect.Covers[str](reader.analyzed)
    for q in queries:
        covers.add(q, q, engine_query(parse_request({"q": q})).tree)
    held = {reader.analyzed(word) for word in ("budget", "prime", "minister")}
    assert covers.could_match(held) == [
        "budget OR tax",
        "elect*",
        '"prime minister"',
        "budget -tax",
    ]
    assert covers.could_match(set()) == ["elect*"]
    assert covers.could_match({reader.analyzed("elections"), reader.analyzed("wombat")}) == [
        "elections", "elect*", "wombat"]  # fmt: skip
    covers.remove("budget OR tax")
    covers.remove("elect*")
    assert covers.could_match(held) == ['"prime minister"', "budget -tax"]
    assert covers.items() == ["elections", '"prime minister"', "budget -tax", "wombat"]

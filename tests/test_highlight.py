"""Snippets: exact strings, escaping, and a property that any text comes back HTML-safe."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from search.engines.whoosh.schema import analyzed
from search.highlight import TOKEN, _matches, lead
from search.highlight import snippets as engine_snippets
from search.highlight import whole as engine_whole
from tests.conftest import BBC


def snippets(text: str, terms: frozenset[str], *args: int) -> list[str]:
    """Snippets with the Whoosh engine's analysis (any engine's would do)."""
    return engine_snippets(text, terms, *args, form=analyzed)


def whole(text: str, terms: frozenset[str]) -> str:
    return engine_whole(text, terms, analyzed)


def terms(*words: str) -> frozenset[str]:
    return frozenset(form for word in words if (form := analyzed(word)))


def test_marks_words_by_their_index_form() -> None:
    assert whole("Elections in Paris", terms("election", "paris")) == (
        "<mark>Elections</mark> in <mark>Paris</mark>"
    )


def test_script_tags_in_article_text_come_back_escaped() -> None:
    text = "Readers saw <script>alert('x')</script> on the page about scripts."
    assert snippets(text, terms("script")) == [
        "Readers saw &lt;<mark>script</mark>&gt;alert(&#x27;x&#x27;)&lt;/<mark>script</mark>&gt; "
        "on the page about <mark>scripts</mark>."
    ]


def test_no_match_gives_the_start_of_the_field() -> None:
    text = "First sentence here. " * 30
    shown = snippets(text, terms("absent"))
    assert len(shown) == 1 and shown[0].startswith("First sentence here.") and len(shown[0]) <= 220
    assert lead("a < b") == "a &lt; b"


def test_at_most_three_fragments_best_first_shown_in_order() -> None:
    filler = "Nothing to see in this long stretch of unrelated filler text at all. " * 4
    text = filler.join(
        ["Paris talks.", "Paris and Berlin talks.", "Berlin.", "Rome.", "Paris, Berlin."]
    )
    shown = snippets(text, terms("paris", "berlin"))
    assert len(shown) == 3
    assert all("<mark>" in fragment for fragment in shown)
    positions = [text.find(re.sub(r"</?mark>", "", f)[:20]) for f in shown]
    assert positions == sorted(positions)
    assert sum("<mark>Paris</mark>" in f and "<mark>Berlin</mark>" in f for f in shown) == 2


SAFE = re.compile(r"^(?:[^<>&]|&(?:amp|lt|gt|quot|#x27);|</?mark>)*$")


@given(st.text(max_size=400), st.lists(st.text(min_size=1, max_size=8), max_size=3))
def test_any_text_comes_back_html_safe(text: str, words: list[str]) -> None:
    for fragment in [*snippets(text, terms(*words)), whole(text, terms(*words))]:
        assert SAFE.match(fragment), fragment
        assert html.unescape(re.sub(r"</?mark>", "", fragment)) in text


def test_candidate_scan_finds_exactly_what_analysing_every_word_finds() -> None:
    """The prefix pre-scan is an optimisation: it must never miss or add a match."""
    texts = [path.read_text(encoding="latin-1") for path in sorted(BBC.glob("*/00[1-4].txt"))]
    texts.append(
        "Happy, happier, happiest: the happiness of U.S. voters' votes_.plans. 'Quoted' x.y"
    )
    words = ["happiness", "elections", "voting", "us", "quote", "said", "government", "y", "plans"]
    for text in texts:
        every = [(m.start(), m.end(), analyzed(m.group())) for m in TOKEN.finditer(text)]
        for size in (1, 3, len(words)):
            terms = frozenset(filter(None, (analyzed(word) for word in words[:size])))
            assert _matches(text, terms, analyzed) == [m for m in every if m[2] in terms]

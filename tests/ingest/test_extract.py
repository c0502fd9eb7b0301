"""Extraction of the two sample scrapes and of small hand-made inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.errors import ArticleError
from search.ingest.extract import (
    clean_paragraphs,
    derive_title,
    drop_captions,
    extract,
    parse_date,
    recurring_paragraphs,
)
from search.ingest.sources import RawArticle, SourceFile, read_source
from tests.conftest import SAMPLE_A, SAMPLE_B, SAMPLES
from tests.ingest.test_headline import page

CHROME_A = [
    "Stay up to date with notifications from The Independent",
    "Notifications can be managed in browser preferences.",
    "Join our commenting forum",
    "Comments",
    "Join thought-provoking conversations, follow other Independent readers and see their replies",
    "Thank you for registering",
    "Please refresh the page or navigate to another page on the site to be automatically logged in",
    "Emmanuel Macron, Keir Starmer and Volodymyr Zelensky sign the coalition of the willing deal in Paris",
    "(Sky News)",
    "Trump is now willing to back the coalition of the willing to guarantee peace",
    "(AP)",
    "France Russia Ukraine War",
]
CHROME_B = [
    "Your support helps us to tell the story",
    "Support Now",
    "From reproductive rights to climate change to Big Tech",
    "Your donation allows us to keep sending journalists",
    "Your support makes all the difference",
    "open image in gallery",
    "Macron, Starmer and Zelensky sign coalition of willing deal",
    "date 2026-01-06",
]


def sample(name: str) -> RawArticle:
    path = SAMPLES / f"{name}.txt"
    records, skipped = read_source(SourceFile(SAMPLES, path))
    assert not skipped
    return records[0]


def article_paragraphs(name: str, chrome: list[str]) -> list[str]:
    """Every paragraph of the raw file that is not chrome: what the body must keep."""
    raw = sample(name).content
    paras = [" ".join(line.split()) for line in raw.splitlines() if line.strip()]
    return [p for p in paras if not any(c in p for c in chrome)]


def test_sample_a_title_date_and_body() -> None:
    extracted = extract(sample(SAMPLE_A))
    assert extracted.title == (
        "Britain signs historic deal to deploy troops inside Ukraine – with Trump’s blessing"
    )
    assert extracted.date is None
    assert not extracted.title_derived  # the headline line of the scrape
    for chrome in CHROME_A:
        assert chrome not in extracted.body
    kept = [p for p in article_paragraphs(SAMPLE_A, CHROME_A) if p != extracted.title]
    assert kept, "the sample has article paragraphs"
    for paragraph in kept:
        assert paragraph in extracted.body
    assert extracted.body.endswith('Nato-minus-the-US world."')


def test_sample_b_derived_title_date_and_body() -> None:
    extracted = extract(sample(SAMPLE_B))
    assert extracted.title == (
        "Britain and France have signed an historic agreement committing to boots on the "
        "ground in Ukraine…"
    )
    assert extracted.date == "2026-01-06"
    assert extracted.title_derived
    for chrome in CHROME_B:
        assert chrome not in extracted.body
    kept = article_paragraphs(SAMPLE_B, CHROME_B)
    assert len(kept) == 24
    for paragraph in kept:
        assert paragraph in extracted.body
    assert extracted.body.startswith("Britain and France have signed an historic agreement")


def test_captions_repeated_with_credit_are_dropped() -> None:
    paras = ["Text one.", "A caption", "A caption (Photo Agency)", "Tag line", "Tag line", "End."]
    assert drop_captions(paras) == ["Text one.", "End."]


def test_recurring_paragraphs_need_many_files() -> None:
    texts = [f"Story {i} is here.\nShare this article" for i in range(6)]
    assert recurring_paragraphs(texts) == {"Share this article"}
    assert recurring_paragraphs(texts[:2]) == set()


def test_corpus_chrome_is_removed_from_body() -> None:
    paras, date = clean_paragraphs(
        "Headline\nBody sentence.\nSite footer line", {"Site footer line"}
    )
    assert paras == ["Headline", "Body sentence."] and date is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-06", "2026-01-06"),
        ("2026-01-06T10:00:00Z", "2026-01-06"),
        ("Tue, 06 Jan 2026 10:00:00 +0000", "2026-01-06"),
        ("6 January 2026", "2026-01-06"),
        ("January 6, 2026", "2026-01-06"),
        ("2026-02-30", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_date(value: object, expected: str | None) -> None:
    assert parse_date(value) == expected


def test_derived_title_is_the_lead_sentence() -> None:
    assert derive_title("Short lead. Then more.") == "Short lead"
    long = "word " * 40 + "end."
    title = derive_title(long)
    assert title.endswith("…") and len(title) <= 101


def test_html_page_main_text_and_metadata(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Budget day | Example</title>"
        '<meta property="article:published_time" content="2025-03-12T09:00:00Z">'
        "</head><body><nav>Home World Sport</nav><article><h1>Budget day</h1>"
        "<p>The chancellor set out a budget that most economists called cautious and careful.</p>"
        "<p>Opposition parties said the plans did little for households facing higher bills.</p>"
        "</article><footer>Cookie settings</footer></body></html>"
    )
    records, _ = read_source(SourceFile(tmp_path, page))
    extracted = extract(records[0])
    assert extracted.title.startswith("Budget day")
    assert extracted.date == "2025-03-12"
    assert "cautious and careful" in extracted.body
    assert "Home World Sport" not in extracted.body


def test_article_with_only_chrome_is_an_error() -> None:
    raw = RawArticle(
        "x", "text", "Stay up to date with notifications from us\nComments\n", "x.txt", "h"
    )
    with pytest.raises(ArticleError, match="no article text"):
        extract(raw)


def test_a_repeated_table_header_is_kept_once() -> None:
    paras = ["Defensive Line", "| Pos | Player | Plays |", "| Pos | Player | Plays |",
             "| DL | Larry Ogunjobi | 63 |", "A caption", "A caption (AP)", "Text."]  # fmt: skip
    assert drop_captions(paras) == [
        "Defensive Line", "| Pos | Player | Plays |", "| DL | Larry Ogunjobi | 63 |", "Text."
    ]  # fmt: skip


def test_benchmark_pages_keep_their_table_header_and_click_here_sentence() -> None:
    stats = extract(RawArticle("p", "html", page("dawgsbynature.com"), "p", "")).body
    assert stats.count("| Pos | Player | Plays | % | Stats |") == 4
    game = extract(RawArticle("p", "html", page("vortexcannon.org"), "p", "")).body
    assert "Click here to get more information or download this game." in game
    assert clean_paragraphs("Story.\nClick here to subscribe to our newsletter")[0] == ["Story."]

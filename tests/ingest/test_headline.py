"""Headlines of HTML pages: the site's name goes, the article's headline stays."""

from __future__ import annotations

import gzip
import json
import re
from functools import cache

import pytest

from search.ingest.extract import extract
from search.ingest.headline import headline
from search.ingest.sources import RawArticle
from tests.conftest import SHARED

PAGES = SHARED / "data" / "article-extraction"


@cache
def page(url_part: str) -> str:
    """The HTML of the benchmark page whose URL contains ``url_part``."""
    truth = json.loads((PAGES / "ground-truth.json").read_text())
    (key,) = [key for key, entry in truth.items() if url_part in entry["url"]]
    return gzip.decompress((PAGES / "html" / f"{key}.html.gz").read_bytes()).decode()


def extracted_title(url_part: str) -> str:
    return extract(RawArticle(url_part, "html", page(url_part), url_part, "")).title


def test_site_name_after_a_separator_goes() -> None:
    html = "<html><head><title>Budget passes | Daily Wire</title></head><body></body></html>"
    assert headline("Budget passes | Daily Wire", html, "Daily Wire") == "Budget passes"
    assert headline("Budget passes - dailywire.com", html, None, None) == (
        "Budget passes - dailywire.com"
    )
    assert headline("Budget passes - Daily Wire", html, None, "https://www.dailywire.com/x") == (
        "Budget passes"
    )


def test_a_section_before_the_headline_and_long_tails_stay() -> None:
    html = "<html><head><title>x</title></head></html>"
    title = "Opinion | Republicans Are Following Trump to Nowhere"
    assert headline(title, html, "NYTimes") == title
    title = "Star Wars review - shoots for the moon, lands among the stars"
    assert headline(title, html, "VG247") == title


def test_a_tail_goes_when_the_rest_is_the_pages_own_heading() -> None:
    html = "<html><head><title>t</title></head><body><h1>Lexus goes topless</h1></body></html>"
    assert headline("Lexus goes topless - Auto News", html, "AutoIndustriya.com") == (
        "Lexus goes topless"
    )


@pytest.mark.parametrize(
    ("url_part", "expected"),
    [
        (
            "theparadigmng.com/2018/10/09/saraki",
            "Saraki, Melaye, Ben Bruce Drag IGP Idris to Court, Demand N500m",
        ),
        ("morebikes.co.uk", "Clymer workshop manual review"),
        ("autoindustriya.com", "Lexus wants you to go topless with 2020 LC500 Convertible"),
        ("remember8090.it", "Black Friday per nostalgici: le occasioni da non perdere"),
        (
            "vg247.com",
            "Star Wars Jedi: Fallen Order review - shoots for the moon, lands among the stars",
        ),
        ("nytimes.com", "Opinion | Republicans Are Following Trump to Nowhere"),
        # The <h1> is the site's logo here; the <title> holds the headline.
        ("entermedia.co.kr", "엘제이-류화영 진흙탕 싸움, 공적인 사안으로 봐야하는 이유"),
    ],
)
def test_benchmark_pages_get_their_headline(url_part: str, expected: str) -> None:
    assert extracted_title(url_part) == expected


def test_no_benchmark_title_ends_with_its_site() -> None:
    truth = json.loads((PAGES / "ground-truth.json").read_text())
    with_suffix = []
    for entry in truth.values():
        host = re.sub(r"^www\.", "", entry["url"].split("/")[2]).split(".")[0]
        title = extracted_title(entry["url"])
        tail = re.split(r"\s+[|\-–—]\s+", title)[-1]
        if tail != title and host.casefold() in re.sub(r"\W", "", tail).casefold():
            with_suffix.append(title)
    assert with_suffix == []

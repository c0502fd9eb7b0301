"""The search page: rendered in-process, and driven in headless Chromium over gunicorn."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from search.http.page import PageForm, month_range
from tests.conftest import ROOT, SAMPLE_A, Server

ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def page(client: testing.TestClient, **params: Any) -> testing.Result:
    return client.simulate_get("/", params=params)


def test_plain_form_search_renders_highlighted_results(client: testing.TestClient) -> None:
    result = page(client, q="Paris Declaration")
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/html")
    assert '<input type="search" name="q" value="Paris Declaration"' in result.text
    assert f'href="/documents/{SAMPLE_A}"' in result.text
    assert "<mark>Paris</mark>" in result.text and "<mark>declaration</mark>" in result.text.lower()
    assert 'class="facet-people"' in result.text and 'class="facet-month"' in result.text


def test_everything_shown_is_escaped(client: testing.TestClient) -> None:
    result = page(client, q='script "<b>x')
    assert result.status_code == 400
    assert "&lt;b&gt;" in result.text and "<b>x" not in result.text
    text = page(client, q="script").text
    assert "&lt;<mark>script</mark>&gt;" in text
    assert text.lower().count("<script") == 1  # the page's own, none from an article


def test_errors_render_in_the_page_with_their_status(client: testing.TestClient) -> None:
    assert page(client, pgae="2").status_code == 400
    unbalanced = page(client, q="(open")
    assert unbalanced.status_code == 400 and 'role="alert"' in unbalanced.text


def test_fold_same_story_shows_one_hit_for_the_two_scrapes(client: testing.TestClient) -> None:
    plain = page(client, q="Paris Declaration").text
    folded = page(client, q="Paris Declaration", collapse="true").text
    assert plain.count('class="hit"') == 2 and "2 articles" in plain
    assert folded.count('class="hit"') == 1 and "1 story" in folded
    assert "1 more of this story" in folded
    assert 'name="collapse" value="true" checked' in folded


def test_favour_recent_ranks_newer_first_and_gives_way_to_a_date_sort(
    client: testing.TestClient,
) -> None:
    recent = page(client, q="paris", recency="30d")
    assert recent.status_code == 200
    assert 'name="recency" value="30d" checked' in recent.text
    assert page(client, q="paris", recency="30d", sort="date").status_code == 200
    assert 'name="recency" value="30d">' in page(client, q="paris").text


def test_facet_month_and_paging_links_keep_the_search() -> None:
    form = PageForm({"q": "budget", "people": ["Keir Starmer"], "page": "2"})
    assert form.link(page=3) == "/?q=budget&people=Keir+Starmer&page=3"
    assert form.link(people=[], page=None) == "/?q=budget"
    assert month_range("2024-02") == {"from": "2024-02-01", "to": "2024-02-29"}


def test_did_you_mean_links_to_the_suggestion(client: testing.TestClient) -> None:
    text = page(client, q="Kushnr").text
    assert re.search(r'class="suggestion" href="/\?q=kushner">kushner</a>', text)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Debian's chromium (scripts/test does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def total(tab: Any) -> int:
    return int(tab.locator("#summary").inner_text().split()[0])


def test_search_page_in_a_real_browser(server: Server, browser: Any) -> None:
    """Type a query, see highlights, page on, narrow by a person; screenshots kept."""
    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    tab.goto(server.url + "/")
    tab.fill("input[name=q]", "said")
    tab.press("input[name=q]", "Enter")
    tab.wait_for_url(re.compile(r"q=said"))
    assert tab.locator(".hit mark").count() > 0
    # The page's Content-Security-Policy lets its own style through, and only it.
    header = "getComputedStyle(document.querySelector('header')).backgroundColor"
    assert tab.evaluate(header) == "rgb(247, 248, 250)"
    everything = total(tab)
    assert everything > 10 and tab.locator(".hit").count() == 10
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "search-page.png"))
    tab.set_viewport_size({"width": 390, "height": 844})
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    tab.screenshot(path=str(ARTIFACTS / "search-page-phone.png"))
    tab.click("a[rel=next]")
    tab.wait_for_url(re.compile(r"page=2"))
    assert tab.locator(".hit").count() == everything - 10
    tab.locator(".facet-people a").first.click()
    tab.wait_for_url(re.compile(r"people="))
    assert 0 < total(tab) < everything
    assert "page=" not in tab.url
    tab.close()


def test_typing_in_the_box_offers_completions_and_choosing_one_searches(
    server: Server, browser: Any
) -> None:
    """Typing "kei" lists "Keir Starmer" (from /suggest, through the page's CSP);
    choosing it searches for him. With JavaScript off the form still searches."""
    tab = browser.new_page()
    failures: list[str] = []
    tab.on(
        "console",
        lambda message: failures.append(message.text) if message.type == "error" else None,
    )
    tab.goto(server.url + "/")
    tab.locator("input[name=q]").press_sequentially("kei", delay=30)
    option = tab.locator("#completions li", has_text="Keir Starmer")
    option.wait_for(state="visible", timeout=10_000)
    assert tab.locator("input[name=q]").get_attribute("aria-expanded") == "true"
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "search-completions.png"))
    option.click()
    tab.wait_for_url(re.compile(r"q=%22Keir\+Starmer%22"))
    assert total(tab) > 0 and "Keir Starmer" in tab.locator(".hit .meta").first.inner_text()
    assert failures == []  # no script or call blocked by the policy
    tab.close()

    quiet = browser.new_context(java_script_enabled=False)
    plain = quiet.new_page()
    plain.goto(server.url + "/")
    plain.fill("input[name=q]", "starmer")
    plain.press("input[name=q]", "Enter")
    plain.wait_for_url(re.compile(r"q=starmer"))
    assert total(plain) > 0 and plain.locator("#completions").is_hidden()
    quiet.close()

"""An HTML page's headline: its title without the site's name.

A page's ``<title>`` (and often its ``og:title``) is "Headline - Site" or
"Headline | Site", and main-content extractors pass it on whole; a few pages put the
site's logo in the ``<h1>``, so the extracted title is the site's name and the
``<title>`` is where the headline is. A search hit
should show the article's own headline, so a trailing part after a separator goes
when it is the site (its name, or its host) or when what precedes it is the page's
own ``<h1>``/``og:title``. A leading part ("Opinion | ...") is the article's section
and stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import lxml.html

SEPARATOR = re.compile(r"\s+(?:[|\-–—»·]|::)\s+")
MAX_SITE_WORDS = 6
MAX_LOGO_WORDS = 3


def headline(
    title: str | None, html: str, sitename: str | None = None, url: str | None = None
) -> str | None:
    """The article's headline from the extracted ``title`` and the page itself."""
    page_title, headings = _page_titles(html)
    names = [name for name in (sitename, _host(url)) if name]
    if title and page_title and _looks_like_a_logo(title, page_title):
        # Then the <title> is "Headline - Site": its short last part is the site.
        stripped = _without_site(page_title, names, headings, short_tail_is_site=True)
        if stripped != page_title:
            return stripped
    return _without_site(title, names, headings) if title else page_title


def _looks_like_a_logo(title: str, page_title: str) -> bool:
    """A short title that is no part of the page's ``<title>``: the logo in an ``<h1>``.

    A long one that differs is an edited headline (sites write a shorter
    ``<title>`` for search engines) and stays.
    """
    return title not in page_title and len(title.split()) <= MAX_LOGO_WORDS


def _without_site(
    title: str, names: list[str], headings: Iterable[str], short_tail_is_site: bool = False
) -> str:
    keys = {_key(name) for name in names}
    known = {_key(text) for text in headings}
    for name in names:
        for match in SEPARATOR.finditer(title):
            if _key(title[match.end() :]) == _key(name):
                return title[: match.start()].strip()
    matches = list(SEPARATOR.finditer(title))
    if not matches:
        return title
    last = matches[-1]
    head, tail = title[: last.start()].strip(), title[last.end() :].strip()
    tail_key = _key(tail)
    is_site = short_tail_is_site or (
        bool(tail_key) and any(tail_key in key or key in tail_key for key in keys if len(key) >= 3)
    )
    if len(tail.split()) <= MAX_SITE_WORDS and head and (is_site or _key(head) in known):
        return head
    return title


def _page_titles(html: str) -> tuple[str | None, list[str]]:
    """The page's ``<title>``, and its ``<h1>``s and ``og:title``s."""
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None, []
    titles = [_clean(node.text_content()) for node in tree.iter("title")]
    headings = [_clean(node.text_content()) for node in tree.iter("h1")]
    og_titles = tree.xpath("//meta[@property='og:title']/@content")
    headings += [_clean(str(value)) for value in og_titles]
    return next((text for text in titles if text), None), [text for text in headings if text]


def _host(url: str | None) -> str | None:
    """A URL's host without ``www.`` and the top-level domain: ``theparadigmng``."""
    host = urlsplit(url).hostname if url else None
    if not host:
        return None
    parts = host.removeprefix("www.").split(".")
    return ".".join(parts[:-1]) if len(parts) > 1 else parts[0]


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()

"""From raw articles to clean ones: body without site chrome, title, date.

Plain-text scrapes carry the site around the article: notification prompts before
the headline, comment-forum and registration blurbs after the body, photo captions
repeated with a credit, donation appeals fused onto a ``date`` header. Two kinds of
evidence remove them, paragraph by paragraph:

* known patterns (``CHROME``) for the blurbs news sites share, and
* the corpus itself: a paragraph that recurs in many files of one source is the
  site's, not the story's (``recurring_paragraphs``).

Captions are recognised by shape: a line repeated straight after itself, bare or
with a parenthesised credit, and gallery lines. HTML pages go through trafilatura
(main-content extraction) first and then through the same paragraph rules.

People are found by ``search.ingest.people``; this module only decides the text they are
found in.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections import Counter
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from search.errors import ArticleError
from search.ingest.headline import headline
from search.ingest.sources import RawArticle


def _starting_with_any(*patterns: str) -> re.Pattern[str]:
    """One case-blind regex for a paragraph that starts with any of ``patterns``: one
    anchored match, where a search a pattern was a tenth of extracting a record."""
    return re.compile("^(?:" + "|".join(f"(?:{pattern})" for pattern in patterns) + ")", re.I)


CHROME = _starting_with_any(
    r"stay up to date with notifications\b",
    r"notifications can be managed\b",
    r"join our commenting forum\b",
    r"join thought-provoking conversations\b",
    r"comments$",
    r"thank you for registering\b",
    r"please refresh (the page|your browser)\b",
    r"your support helps us\b",
    r"(sign up|subscribe)\b.{0,60}\bnewsletter\b",
    r"open image in gallery\b",
    r"(read more|support now|advertisement|skip to (main )?content)$",
    r"(we use cookies|this (web)?site uses cookies)\b",
    r"(share|follow us) on\b.{0,40}$",
    r"(click|tap) here to (subscribe|sign up|register|log ?in|read more|follow)\b",
)
FOOTER = _starting_with_any(
    r"join our commenting forum\b",
    r"most (read|popular)$",
    r"related (articles|stories)$",
)
DATE_HEADER = re.compile(r"^\s*date:?\s+(\d{4}-\d{2}-\d{2})\b\s*", re.IGNORECASE)
PUBLISHED_LINE = re.compile(r"^\s*(published|updated|posted)( on)?:?\s+(.{6,40})$", re.IGNORECASE)
TABLE_ROW = re.compile(r"^\|.*\|$")
CREDIT = re.compile(r"^\s*\([^()]{1,60}\)\s*$")
SENTENCE_END = re.compile(r"""[.!?…]["'”’)]*$""")
SENTENCE_SPLIT = re.compile(r"""(?<=[.!?])["'”’]?\s+(?=["“‘']?[A-Z0-9])""")
MAX_TITLE_WORDS = 25
# Longer than any news article (and within what the NER model takes at once).
MAX_ARTICLE_CHARS = 500_000
# An id is a term of the index: Xapian takes no term past 245 bytes.
MAX_ID_BYTES = 200
DERIVED_TITLE_CHARS = 100


@dataclass
class Extracted:
    """The text fields of one article, before people are found in its body."""

    title: str
    body: str
    date: str | None
    url: str | None
    source: str | None
    title_derived: bool = False


def paragraphs(text: str) -> list[str]:
    """Non-empty lines with whitespace collapsed: a scrape's paragraphs."""
    lines = (" ".join(line.split()) for line in text.replace("\r", "\n").split("\n"))
    return [line for line in lines if line]


def recurring_paragraphs(
    texts: Iterable[str], min_files: int = 5, min_share: float = 0.05
) -> set[str]:
    """Paragraphs that recur across many files of one source: the site's chrome.

    A paragraph counts once per file. It is chrome when it appears in at least
    ``min_files`` files and in at least ``min_share`` of them, so two scrapes of one
    story (which share sentences) never make each other's text disappear.
    """
    counts: Counter[str] = Counter()
    total = 0
    for text in texts:
        total += 1
        counts.update(set(paragraphs(text)))
    floor = max(min_files, int(total * min_share))
    return {para for para, count in counts.items() if count >= floor}


def is_chrome(paragraph: str, chrome: AbstractSet[str]) -> bool:
    """Whether a paragraph is site boilerplate rather than article text."""
    return paragraph in chrome or CHROME.match(paragraph) is not None


def drop_captions(paras: list[str]) -> list[str]:
    """Remove photo captions: a line repeated right after itself, bare or with a credit.

    Table rows are not captions, though extractors repeat a header row.
    """
    kept: list[str] = []
    skip_next = False
    for i, para in enumerate(paras):
        if skip_next:
            skip_next = False
            continue
        following = paras[i + 1] if i + 1 < len(paras) else None
        if TABLE_ROW.match(para):
            # A table's header row, repeated by the extractor: kept once.
            skip_next = following == para
            kept.append(para)
            continue
        if following is not None and following.startswith(para):
            rest = following[len(para) :]
            if not rest or CREDIT.match(rest):
                skip_next = True
                continue
        kept.append(para)
    return kept


def clean_paragraphs(
    text: str, chrome: AbstractSet[str] = frozenset()
) -> tuple[list[str], str | None]:
    """Article paragraphs without chrome, and the date from a ``date`` header if any."""
    header_date = None
    result: list[str] = []
    for para in paragraphs(text):
        match = DATE_HEADER.match(para)
        if match:
            header_date = header_date or match.group(1)
            para = para[match.end() :].strip()
            if not para:
                continue
        if FOOTER.match(para):
            break
        if not is_chrome(para, chrome):
            result.append(para)
    return drop_captions(result), header_date


def looks_like_headline(para: str) -> bool:
    """A headline is short and has no closing punctuation; a body paragraph has."""
    return len(para.split()) <= MAX_TITLE_WORDS and not SENTENCE_END.search(para)


def derive_title(body: str) -> str:
    """A title from the lead sentence, cut at a word boundary when long."""
    lead = SENTENCE_SPLIT.split(body.strip(), maxsplit=1)[0] if body.strip() else ""
    lead = lead.split("\n", 1)[0].rstrip(" .")
    if len(lead) <= DERIVED_TITLE_CHARS:
        return lead
    cut = lead[:DERIVED_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:–-")
    return cut + "…"


def parse_date(value: Any) -> str | None:
    """An ISO ``YYYY-MM-DD`` from the date shapes feeds use, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    iso = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:
        parsed = _valid_date(*map(int, iso.groups()))
        return parsed.isoformat() if parsed else None
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in ("%d %B %Y", "%B %d, %Y", "%d %b %Y", "%b %d, %Y", "%A %d %B %Y"):
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _valid_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _date_from_lines(paras: list[str]) -> str | None:
    """A date from a 'Published …' line near the top, never from body sentences."""
    for para in paras[:6]:
        match = PUBLISHED_LINE.match(para)
        if match and (found := parse_date(match.group(3))):
            return found
    return None


def split_title(paras: list[str], given: str | None) -> tuple[str, list[str], bool]:
    """The title, the body paragraphs once the title is taken out, and whether the
    title is derived from the lead sentence (the article had no headline)."""
    if given:
        # The body repeats the headline first; a body that is only the headline stays.
        body = paras[1:] if len(paras) > 1 and paras[0] == given else paras
        return given, body, False
    if len(paras) > 1 and looks_like_headline(paras[0]):
        return paras[0], paras[1:], False
    return derive_title("\n".join(paras)), paras, True


def extract(raw: RawArticle, chrome: AbstractSet[str] = frozenset()) -> Extracted:
    """Title, body, date, url and source of one raw article.

    Raises:
        ArticleError: the id is over ``MAX_ID_BYTES``, the text over
            ``MAX_ARTICLE_CHARS``, or nothing of the article is left once chrome is
            removed.
    """
    if len(raw.id.encode("utf-8")) > MAX_ID_BYTES:
        raise ArticleError(f"id is over the {MAX_ID_BYTES} bytes an id may take")
    fields = raw.fields
    text = raw.content
    meta: dict[str, Any] = {}
    if raw.kind == "html":
        meta = _html_main_text(text)
        meta["title"] = headline(
            _text_field(meta.get("title")),
            text,
            _text_field(meta.get("sitename")),
            _text_field(fields.get("url")) or _text_field(meta.get("url")),
        )
        text = meta.get("text") or ""
    if len(text) > MAX_ARTICLE_CHARS:
        raise ArticleError(
            f"article text is {len(text):,} characters, over the {MAX_ARTICLE_CHARS:,} limit"
        )
    paras, header_date = clean_paragraphs(text, chrome)
    title_given = _text_field(fields.get("title")) or _text_field(meta.get("title"))
    title, body_paras, title_derived = split_title(paras, title_given)
    body = "\n\n".join(body_paras)
    if not body:
        raise ArticleError("no article text left after removing boilerplate")
    date = (
        parse_date(fields.get("date") or fields.get("published") or fields.get("published_at"))
        or header_date
        or parse_date(meta.get("date"))
        or _date_from_lines(paras)
    )
    return Extracted(
        title=title,
        body=body,
        date=date,
        url=_text_field(fields.get("url")) or _text_field(meta.get("url")),
        source=_text_field(fields.get("source")) or _text_field(meta.get("sitename")),
        title_derived=title_derived,
    )


def _text_field(value: Any) -> str | None:
    return re.sub(r"\s+", " ", value).strip() or None if isinstance(value, str) else None


def _html_main_text(html: str) -> dict[str, Any]:
    """Main content and metadata of a page, by trafilatura.

    Raises:
        ArticleError: the page has no main text.
    """
    # Imported for the first page: it took a third of the API's import, in every
    # worker, which mostly takes text and JSON.
    import trafilatura

    document = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    if document is None:
        raise ArticleError("no article text found in HTML page")
    result: dict[str, Any] = document.as_dict()  # type: ignore[union-attr]
    return result

"""The Whoosh schema, its analyzers, and the mapping between articles and fields.

Title and body share one analyzer so that a query word means the same in both and
highlighting can analyse snippet words the same way the index did. ``people`` is
indexed twice: as lower-cased words for ``people:starmer`` queries, and as exact
names (``people_exact``) for filters and facets. ``text`` holds every text field
at once, the title twice: plain words are scored there (BM25F, one length for all
fields), field words in their own field. Dates are ISO strings in ID fields:
they sort and range-query lexically, and ``month``/``year`` are their prefixes kept
as sortable columns for facets.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from whoosh.analysis import Filter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from search.analysis import (
    INDEX_STOP_WORDS,
    TOKEN_PATTERN,
    fold_case,
    without_accents,
    without_possessive,
)
from search.completions import completion_keys
from search.model import Article


class CaseFilter(Filter):
    """Lower-cases as every engine does (``fold_case``: "İstanbul" is "istanbul")."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            token.text = fold_case(token.text)
            yield token


class AccentFilter(Filter):
    """Drops diacritics as every engine does (``without_accents``: "Élysée" is "elysee")."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            token.text = without_accents(token.text)
            yield token


class PossessiveFilter(Filter):
    """Drops a trailing possessive so "Trump’s" indexes as "trump"."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            token.text = without_possessive(token.text)
            yield token


def text_analyzer() -> Any:
    """Words, lower-cased, diacritics, possessives and stop words dropped, Porter-stemmed."""
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | CaseFilter()
        | AccentFilter()
        | PossessiveFilter()
        | StopFilter(stoplist=INDEX_STOP_WORDS)
        | StemFilter(cachesize=-1)
    )


_ANALYZER = text_analyzer()


@lru_cache(maxsize=200_000)
def analyzed(word: str) -> str | None:
    """The index form of one word (lower-cased, stemmed), None for a stop word."""
    for token in _ANALYZER(word):
        return str(token.text)
    return None


def name_analyzer() -> Any:
    """Name words, lower-cased, without diacritics, unstemmed: "Starmer" finds "Keir Starmer"."""
    return RegexTokenizer(TOKEN_PATTERN) | CaseFilter() | AccentFilter() | PossessiveFilter()


TITLE_REPEATS = 2


def build_schema() -> Schema:
    analyzer = text_analyzer()
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        title=TEXT(analyzer=analyzer, stored=True),
        body=TEXT(analyzer=analyzer, stored=True, spelling=True),
        # Every text field at once, the title twice: plain words are scored here, so
        # one BM25F length normalises all fields (docs/relevance.md).
        text=TEXT(analyzer=analyzer),
        people=TEXT(analyzer=name_analyzer(), phrase=True),
        people_exact=KEYWORD(commas=True, scorable=False),
        people_list=STORED,
        date=ID(stored=True, sortable=True),
        month=ID(sortable=True),
        year=ID(sortable=True),
        url=STORED,
        source=STORED,
        story=ID(stored=True, sortable=True),
        path=ID(stored=True),
        content_hash=STORED,
        minhash=STORED,
        title_derived=STORED,
        # Completion keys (``search.completions``), by kind, counted by doc frequency.
        complete_person=KEYWORD(commas=True, scorable=False),
        complete_word=KEYWORD(commas=True, scorable=False),
    )


def to_fields(article: Article, minhash: bytes) -> dict[str, Any]:
    """The Whoosh document of an article."""
    fields: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "people": "\n".join(article.people),
        # A title derived from the lead sentence adds no words of its own.
        "text": "\n".join(
            [article.title] * (0 if article.title_derived else TITLE_REPEATS)
            + [article.body, *article.people]
        ),
        "people_exact": ",".join(article.people),
        "people_list": list(article.people),
        "url": article.url,
        "source": article.source,
        "story": article.story_key,
        "path": article.path,
        "content_hash": article.content_hash,
        "minhash": minhash,
        "title_derived": article.title_derived,
        **{
            f"complete_{kind}": ",".join(key.replace(",", " ") for key in keys)
            for kind, keys in completion_keys(article).items()
        },
    }
    if article.date:
        fields.update(date=article.date, month=article.date[:7], year=article.date[:4])
    return fields


def from_stored(stored: dict[str, Any]) -> Article:
    """An article from a document's stored fields."""
    return Article(
        id=stored["id"],
        title=stored.get("title", ""),
        body=stored.get("body", ""),
        date=stored.get("date"),
        people=list(stored.get("people_list") or []),
        url=stored.get("url"),
        source=stored.get("source"),
        story=stored.get("story", ""),
        path=stored.get("path", ""),
        content_hash=stored.get("content_hash", ""),
        title_derived=bool(stored.get("title_derived", False)),
    )

"""Which alerts new articles could match, before any alert's search is run.

Running every alert's search on every batch costs as much as there are alerts,
whatever they match. Like Lucene's Monitor (born as Luwak), each alert's query
gives a cover: index forms of which an article must hold at least one to match
it (for a word, its form; for AND, the cover of one part; for OR, the union of
the parts' covers). A batch's articles give the forms they hold, and only the
alerts whose cover meets them, and those without a cover (a wildcard, a fuzzy
word, a query of filters or exclusions alone), are searched. A cover never
leaves out an alert that would match: a word is covered only when it is plain
letters, which the engines and the cover read alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from search.analysis import TOKEN
from search.model import And, Article, Node, Or, Phrase, Word

Analyzed = Callable[[str], str | None]


def cover(tree: Node, analyzed: Analyzed) -> frozenset[str] | None:
    """Forms of which a matching article holds one; None when any article may match."""
    if isinstance(tree, Word):
        return _word(tree.text, analyzed)
    if isinstance(tree, Phrase):  # every word of it is in a matching article
        words = (_word(word, analyzed) for word in TOKEN.findall(tree.text))
        return next((found for found in words if found is not None), None)
    if isinstance(tree, And):
        covers = [c for c in (cover(part, analyzed) for part in tree.parts) if c is not None]
        return min(covers, key=len) if covers else None
    if isinstance(tree, Or):
        parts = [cover(part, analyzed) for part in tree.parts]
        if not parts or any(part is None for part in parts):
            return None
        return frozenset().union(*(part for part in parts if part is not None))
    return None  # a pattern, a date range, NOT, every article


def forms(articles: Iterable[Article], analyzed: Analyzed) -> set[str]:
    """The index forms of the words of ``articles`` (title, body and people)."""
    words = {
        word
        for article in articles
        for text in (article.title, article.body, *article.people)
        for word in TOKEN.findall(text)
    }
    return {form for form in map(analyzed, words) if form is not None}


def _word(text: str, analyzed: Analyzed) -> frozenset[str] | None:
    if not text.isalpha():  # hyphens, digits, apostrophes: each engine splits its way
        return None
    form = analyzed(text)
    return None if form is None else frozenset({form})

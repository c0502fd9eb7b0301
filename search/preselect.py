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

``Covers`` keeps the alerts by the forms of their covers, built once for many
batches: an article's forms find the alerts it could match by as many lookups as
it has forms, so the cost of pre-selection follows the articles and the alerts
they could match, not how many alerts there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from search.analysis import TOKEN
from search.model import And, Article, Node, Or, Phrase, Word

Analyzed = Callable[[str], str | None]
T = TypeVar("T")


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


class Covers(Generic[T]):
    """Items (alerts), each under a key, by the forms of their queries' covers; kept
    as items come and go, so a change costs what it changes."""

    def __init__(self, analyzed: Analyzed) -> None:
        self._analyzed = analyzed
        self._items: dict[str, tuple[int, T]] = {}  # in the order they came
        self._forms: dict[str, frozenset[str]] = {}
        self._uncovered: set[str] = set()
        self._by_form: defaultdict[str, set[str]] = defaultdict(set)
        self._added = 0

    def add(self, key: str, item: T, tree: Node) -> None:
        self._items[key] = (self._added, item)
        self._added += 1
        found = cover(tree, self._analyzed)
        if found is None:
            self._uncovered.add(key)
            return
        self._forms[key] = found
        for form in found:
            self._by_form[form].add(key)

    def remove(self, key: str) -> None:
        del self._items[key]
        self._uncovered.discard(key)
        for form in self._forms.pop(key, ()):
            self._by_form[form].discard(key)
            if not self._by_form[form]:
                del self._by_form[form]

    def keys(self) -> set[str]:
        return set(self._items)

    def items(self) -> list[T]:
        return [item for _, item in sorted(self._items.values(), key=_first)]

    def could_match(self, held: Iterable[str]) -> list[T]:
        """The items whose cover meets ``held`` and those without one, in their order."""
        keys = set(self._uncovered)
        for form in held:
            keys.update(self._by_form.get(form, ()))
        return [item for _, item in sorted((self._items[key] for key in keys), key=_first)]


def _first(pair: tuple[int, object]) -> int:
    return pair[0]


def _word(text: str, analyzed: Analyzed) -> frozenset[str] | None:
    if not text.isalpha():  # hyphens, digits, apostrophes: each engine splits its way
        return None
    form = analyzed(text)
    return None if form is None else frozenset({form})

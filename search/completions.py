"""Completions for a search box (``GET /suggest``), the same for every engine.

As a reader types, the last word of what is typed is completed to people (their
canonical names, from any of their words: "sta" -> "Keir Starmer") and to title
words, the ones in most articles first. Every engine indexes the same completion
keys for each article (``completion_keys``): each word of each person's name and
each title word, folded (case and diacritics, as the query language folds them),
then what to show for it. Completing is then a scan of the keys that start with the
folded prefix, which every engine's term dictionary does in sorted order, each key
with the number of articles that have it (``Completer``); the ranking is here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from search.analysis import TOKEN, fold_case, without_accents, without_possessive
from search.model import Article

# Between a key's folded word and what it shows (neither ever holds it).
SEPARATOR = "\x1f"
KINDS = ("person", "word")
MAX_LIMIT = 20
# A one-letter prefix starts thousands of keys: a scan reads this many at most, so
# a keystroke costs a few milliseconds however large the index.
MAX_SCANNED = 3000
# Title words of fewer letters are not offered.
MIN_WORD_LETTERS = 3


@dataclass(frozen=True)
class Completion:
    text: str
    kind: str  # person or word
    count: int

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "kind": self.kind, "count": self.count}


class Completer(Protocol):
    """What an engine's reader finds of the completion keys."""

    def completion_keys(self, kind: str, prefix: str, most: int) -> list[tuple[str, int]]:
        """Up to ``most`` keys of ``kind`` that start with ``prefix``, in key order,
        each with the number of articles that have it."""
        ...


def fold(word: str) -> str:
    return without_accents(fold_case(word))


def completion_keys(article: Article) -> dict[str, set[str]]:
    """The keys an engine indexes for ``article``, by kind."""
    people = {
        f"{fold(word)}{SEPARATOR}{name}"
        for name in article.people
        for word in TOKEN.findall(name)
        if SEPARATOR not in name
    }
    words = {
        f"{fold(word)}{SEPARATOR}{word}"
        for token in TOKEN.findall(fold_case(article.title))
        if (word := without_possessive(token)) and word.isalpha() and len(word) >= MIN_WORD_LETTERS
    }
    return {"person": people, "word": words}


def last_word(q: str) -> str:
    """The folded word being typed: the last of ``q``, none after a space."""
    if not q or q[-1].isspace():
        return ""
    words = TOKEN.findall(q.split()[-1]) if q.split() else []
    return fold(words[-1]) if words else ""


def complete(completer: Completer, q: str, limit: int) -> list[Completion]:
    """People and title words completing the last word of ``q``, most articles first
    (people first among equals, then alphabetically)."""
    prefix = last_word(q)
    if not prefix:
        return []
    found = [
        Completion(text, kind, count)
        for kind in KINDS
        for text, count in _merged(kind, completer.completion_keys(kind, prefix, MAX_SCANNED))
    ]
    found.sort(key=lambda c: (-c.count, KINDS.index(c.kind), c.text.lower()))
    return found[:limit]


def _merged(kind: str, keys: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """What the keys show, each once: a name reached by two of its words counted once,
    a word written two ways ("élysée", "elysee") counted for both and shown as
    written most."""
    counts: Counter[str] = Counter()
    shown: dict[str, tuple[int, str]] = {}
    for key, count in keys:
        folded, _, text = key.partition(SEPARATOR)
        same = text if kind == "person" else folded
        counts[same] = max(counts[same], count) if kind == "person" else counts[same] + count
        if count > shown.get(same, (0, ""))[0]:
            shown[same] = (count, text)
    return [(shown[same][1], count) for same, count in counts.items()]

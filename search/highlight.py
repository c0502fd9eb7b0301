"""Escaped snippets with ``<mark>``: the only HTML the API ever sends.

A full analyzer run over a whole stored body for every hit dominates search time
(Whoosh's own highlighter does that). Here a body is split with a plain regex
(the same token pattern as the index) and only candidate words, those starting like
a query term, go through the engine's analysis (``form``, cached by the engine), so
a word is stemmed once however often it is seen. Fragments are windows of about
``FRAGMENT_CHARS`` around clusters of matches, the best (most distinct query words,
then most matches) first chosen and then shown in text order. Text is escaped piece
by piece, so nothing from an article can ever become markup."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from search.documents import TOKEN_PATTERN

FRAGMENT_CHARS = 200
MAX_FRAGMENTS = 3
LEAD_CHARS = 60
TOKEN = re.compile(TOKEN_PATTERN)


class _Fragment(NamedTuple):
    start: int
    end: int
    matches: tuple[tuple[int, int], ...]
    distinct: int


@lru_cache(maxsize=1024)
def _candidates(terms: frozenset[str]) -> re.Pattern[str]:
    """Word starts that may analyse to one of ``terms``.

    Stemming changes at most the last letter of what it keeps ("happi" from
    "happy"), so a word can only match a term if it starts with the term less its
    last letter. Scanning for those in C and analysing only the candidates is
    much cheaper than analysing every word of a body.
    """
    prefixes = sorted({term[:-1] if len(term) > 2 else term for term in terms}, key=len)
    alternatives = "|".join(re.escape(prefix) for prefix in reversed(prefixes))
    # Literal prefixes first, so the regex engine can skip ahead to them; the token
    # is then taken whole, as ``TOKEN`` would take it from there. The text is
    # lower-cased before the scan (cheaper than a case-insensitive one), and a
    # candidate inside a word is dropped by the caller.
    return re.compile(rf"(?:{alternatives})\w*(?:[.'’]\w+)*")  # TOKEN_PATTERN's rest


def _token_start(text: str, position: int) -> bool:
    """Whether a word starting here is a token of its own (as ``TOKEN`` splits)."""
    if position == 0:
        return True
    before = text[position - 1]
    return not (before in ".'’" and position > 1 and text[position - 2].isalnum())


def _matches(
    text: str, terms: frozenset[str], form: Callable[[str], str | None]
) -> list[tuple[int, int, str]]:
    lower = text.lower()
    if len(lower) != len(text):  # a letter whose lower case is longer ("İ")
        lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    found = []
    for token in _candidates(terms).finditer(lower):
        start = token.start()
        if start and (_is_word_char(lower[start - 1]) or not _token_start(text, start)):
            continue
        key = form(token.group())
        if key is not None and key in terms:
            found.append((start, token.end(), key))
    return found


def _is_word_char(char: str) -> bool:
    """Whether ``char`` is a word character (``\\w``): a candidate after it is inside a word."""
    return char.isalnum() or char == "_"


def _snap_start(text: str, match_start: int) -> int:
    """Where a fragment leading to ``match_start`` begins: its paragraph or sentence
    start when near, else a word start about ``LEAD_CHARS`` before."""
    floor = max(0, match_start - LEAD_CHARS)
    paragraph = text.rfind("\n", floor, match_start)
    if paragraph != -1:
        return paragraph + 1
    sentence = text.rfind(". ", floor, match_start)
    if sentence != -1:
        return sentence + 2
    if floor == 0:
        return 0
    space = text.find(" ", floor, match_start)
    return space + 1 if space != -1 else match_start


def _snap_end(text: str, position: int) -> int:
    if position >= len(text):
        return len(text)
    space = text.find(" ", position)
    return space if space != -1 else len(text)


def _fragments(text: str, found: list[tuple[int, int, str]], size: int) -> list[_Fragment]:
    """Group matches into windows of about ``size`` characters."""
    fragments: list[_Fragment] = []
    i = 0
    previous_end = 0
    while i < len(found):
        start = max(_snap_start(text, found[i][0]), previous_end)
        limit = start + size
        group = [found[i]]
        j = i + 1
        while j < len(found) and found[j][1] <= limit:
            group.append(found[j])
            j += 1
        end = _snap_end(text, max(limit, group[-1][1]))
        previous_end = end
        fragments.append(
            _Fragment(start, end, tuple((s, e) for s, e, _ in group), len({k for _, _, k in group}))
        )
        i = j
    return fragments


def render(text: str, start: int, end: int, marks: tuple[tuple[int, int], ...]) -> str:
    """HTML-escaped ``text[start:end]`` with ``<mark>`` around each span in ``marks``."""
    out = []
    cursor = start
    for mark_start, mark_end in marks:
        out.append(html.escape(text[cursor:mark_start]))
        out.append(f"<mark>{html.escape(text[mark_start:mark_end])}</mark>")
        cursor = mark_end
    out.append(html.escape(text[cursor:end]))
    return "".join(out).strip()


def lead(text: str, size: int = FRAGMENT_CHARS) -> str:
    """The escaped start of a field, for hits that match elsewhere."""
    return render(text, 0, _snap_end(text, size) if len(text) > size else len(text), ())


def snippets(
    text: str,
    terms: frozenset[str],
    size: int = FRAGMENT_CHARS,
    limit: int = MAX_FRAGMENTS,
    *,
    form: Callable[[str], str | None],
) -> list[str]:
    """Up to ``limit`` escaped fragments of ``text`` with the query's words marked.

    Args:
        terms: index forms of the query's words.
        form: maps a word of the text to its index form (the engine's analysis).
    """
    found = _matches(text, terms, form) if terms else []
    if not found:
        return [lead(text, size)] if text else []
    fragments = _fragments(text, found, size)
    best = sorted(fragments, key=lambda f: (-f.distinct, -len(f.matches), f.start))[:limit]
    return [render(text, f.start, f.end, f.matches) for f in sorted(best, key=lambda f: f.start)]


def whole(text: str, terms: frozenset[str], form: Callable[[str], str | None]) -> str:
    """All of a short field (a title), escaped, with matches marked."""
    found = _matches(text, terms, form) if terms else []
    return render(text, 0, len(text), tuple((s, e) for s, e, _ in found))

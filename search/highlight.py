"""Escaped snippets with ``<mark>``: the only HTML the API ever sends.

A full analyzer run over a whole stored body for every hit dominates search time
(Whoosh's own highlighter does that). Here only candidate words, those starting
like a query term, are found (by ``str.find``), split as the index splits words,
and go through the engine's analysis (``form``, cached by the engine), so a word
is stemmed once however often it is seen. Fragments are windows of about
``FRAGMENT_CHARS`` around clusters of matches, the best (most distinct query words,
then most matches) first chosen and then shown in text order. Text is escaped piece
by piece, so nothing from an article can ever become markup."""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

from search.analysis import TOKEN_PATTERN, fold_case, letters_without_accents

FRAGMENT_CHARS = 200
MAX_FRAGMENTS = 3
LEAD_CHARS = 60
TOKEN = re.compile(TOKEN_PATTERN)


class _Fragment(NamedTuple):
    """A window of ``text[start:end]`` marking ``found[first:last]``."""

    start: int
    end: int
    first: int
    last: int
    distinct: int


@lru_cache(maxsize=1024)
def _scan(terms: frozenset[str]) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """The prefixes to look for, and the pattern of a candidate word at a found one.

    Stemming changes at most the last letter of what it keeps ("happi" from
    "happy"), so a word can only match a term if it starts with the term less its
    last letter. ``str.find`` walks a body for those prefixes in C several times
    faster than a regex alternation does (a prefix that starts with another is
    found with it); only the word starts found are taken whole by the pattern
    (longest prefix first, then ``TOKEN_PATTERN``'s rest) and analysed.
    """
    prefixes = sorted({term[:-1] if len(term) > 2 else term for term in terms}, key=len)
    sought: list[str] = []
    for prefix in prefixes:
        if not any(prefix.startswith(shorter) for shorter in sought):
            sought.append(prefix)
    alternatives = "|".join(re.escape(prefix) for prefix in reversed(prefixes))
    return tuple(sought), re.compile(rf"(?:{alternatives})\w*(?:[.'’]\w+)*")


def _is_word_char(char: str) -> bool:
    """Whether ``char`` is a word character (``\\w``)."""
    return char.isalnum() or char == "_"


def _token_start(text: str, position: int) -> bool:
    """Whether a word starts a token here, as ``TOKEN`` splits: not inside a word,
    nor after a word's inner ``.`` or apostrophe ("s" in "U.S")."""
    if position == 0:
        return True
    before = text[position - 1]
    if _is_word_char(before):
        return False
    return not (before in ".'’" and position > 1 and _is_word_char(text[position - 2]))


def _word_starts(lower: str, prefixes: tuple[str, ...]) -> list[int]:
    """Where, in text order, a token of ``lower`` starts with one of ``prefixes``."""
    starts = set()
    for prefix in prefixes:
        position = lower.find(prefix)
        while position != -1:
            if _token_start(lower, position):
                starts.add(position)
            position = lower.find(prefix, position + 1)
    return sorted(starts)


def _matches(
    text: str, terms: frozenset[str], form: Callable[[str], str | None]
) -> list[tuple[int, int, str]]:
    """Each word of ``text`` whose index form is one of ``terms``: start, end, form."""
    # Lower-cased and without diacritics for the scan (cheaper than searching
    # case-insensitively), each character in its place: positions in ``lower`` are
    # positions in ``text``.
    lower = fold_case(text)
    if len(lower) != len(text):  # an "i" and a combining dot, as written
        lower = "".join(c if len(folded := fold_case(c)) != 1 else folded for c in text)
    lower = letters_without_accents(lower)  # "élysée" is found as "elysee", marked as written
    prefixes, candidate = _scan(terms)
    found = []
    for start in _word_starts(lower, prefixes):
        token = candidate.match(lower, start)
        assert token is not None, "a word start found is a sought prefix"
        key = form(token.group())
        if key is not None and key in terms:
            found.append((start, token.end(), key))
    return found


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
    ends = [end for _, end, _ in found]
    keys = [key for _, _, key in found]
    fragments: list[_Fragment] = []
    first = 0
    previous_end = 0
    while first < len(found):
        start = max(_snap_start(text, found[first][0]), previous_end)
        limit = start + size
        # Matches are in text order, so their ends ascend: the window's last match
        # is found by bisection.
        last = bisect.bisect_right(ends, limit, first + 1)
        end = _snap_end(text, max(limit, ends[last - 1]))
        fragments.append(_Fragment(start, end, first, last, len(set(keys[first:last]))))
        previous_end = end
        first = last
    return fragments


def render(text: str, start: int, end: int, marks: Sequence[tuple[int, int]]) -> str:
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
    best = sorted(fragments, key=lambda f: (-f.distinct, f.first - f.last, f.start))[:limit]
    return [
        render(text, f.start, f.end, [(s, e) for s, e, _ in found[f.first : f.last]])
        for f in sorted(best, key=lambda f: f.start)
    ]


def whole(text: str, terms: frozenset[str], form: Callable[[str], str | None]) -> str:
    """All of a short field (a title), escaped, with matches marked."""
    found = _matches(text, terms, form) if terms else []
    return render(text, 0, len(text), [(s, e) for s, e, _ in found])

"""Did you mean: which typed words a suggestion corrects, and to what, for every engine.

A typed word is corrected when it is unknown or rare in the index (in at most one
document) and an indexed word at most two edits away is in more documents. Rare is
not a share of the documents: measured on the BBC set copied 16 times, taking as
rare the words in at most one document in a thousand corrected 59 % of a sample
of 400 of them ("montreal", "severn", "desmond"), nearly always wrongly
("mongrel", "seven", "demand"); still 133 with one edit at most for words of up to
five letters and a spelling ten times as frequent. The engine finds the nearby
words and counts documents (``Speller``); the rule is here.
"""

from __future__ import annotations

import re
from typing import Protocol

from search.analysis import fold_case
from search.deadline import Deadline
from search.query.language import query_words

RARE_DOCUMENTS = 1
# What a Speller offers for a word: this many spellings at most, this many edits away.
SPELLINGS, SPELLING_EDITS = 3, 2


class Speller(Protocol):
    """What an engine's reader tells of its vocabulary."""

    def analyzed(self, word: str) -> str | None:
        """The index form of a word, ``None`` for a stop word."""
        ...

    def doc_frequency(self, form: str) -> int:
        """How many documents have this index form in their text."""
        ...

    def spellings(self, word: str, deadline: Deadline) -> list[str]:
        """Indexed words as written, other than ``word`` and at most
        ``SPELLING_EDITS`` from it, nearest first and the more frequent first among
        the equally near; ``SPELLINGS`` at most, none once ``deadline`` has passed."""
        ...


def suggestion(q: str, speller: Speller, deadline: Deadline) -> str | None:
    """``q`` with each rare word replaced by a better spelling, lower-cased; ``None``
    when no word is replaced, or past the deadline: the results are found by then,
    and a suggestion is left out rather than failing the search."""
    suggested = q
    for word in dict.fromkeys(query_words(q)):
        if deadline.passed():
            return None
        lower = fold_case(word)
        form = speller.analyzed(lower)
        if form is None:
            continue
        frequency = speller.doc_frequency(form)
        if frequency > RARE_DOCUMENTS:
            continue
        better = _more_frequent(speller, lower, frequency, deadline)
        if better is not None:
            suggested = re.sub(rf"\b{re.escape(word)}\b", better, suggested)
    return fold_case(suggested) if suggested != q else None


def _more_frequent(speller: Speller, word: str, frequency: int, deadline: Deadline) -> str | None:
    """The nearest spelling of ``word`` in more documents than its ``frequency``."""
    for candidate in speller.spellings(word, deadline):
        form = speller.analyzed(candidate)
        if form is not None and speller.doc_frequency(form) > frequency:
            return candidate
    return None

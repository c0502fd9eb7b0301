"""What a word is, for every engine, every query and every highlight.

Tokens (``TOKEN_PATTERN``), case folding (``fold_case``), diacritics
(``without_accents``: an index and a query both without them, so ``elysee`` finds
"Élysée" and "Élysée" "Elysee", while highlights mark the text as written),
possessives (``without_possessive``) and the two stop-word lists: the index's 34 (Whoosh's
English list, which both engines drop from titles and bodies) and spaCy's 326 for
long questions and for telling names from common words, read without importing
spaCy (which costs a search worker about 80 MB and a second, for a list that is a
plain Python file in its package). Each engine stems as its library does (Whoosh:
Porter; Xapian: Porter2).
"""

from __future__ import annotations

import importlib.util
import re
import runpy
import unicodedata
from functools import cache
from pathlib import Path

# What a word is, for every engine's index and for highlighting.
TOKEN_PATTERN = r"\w+(?:[.'’]\w+)*"
# What ``str.lower`` makes of the Turkish dotted capital I ("İ"): an "i" and a
# combining dot, which ``\w`` does not take, so "İstanbul" fell apart into "i" and
# "stanbul" (and found every article with an "I").
DOTTED_I = "i\u0307"
TOKEN = re.compile(TOKEN_PATTERN)
# Whoosh's English stop words, so both engines drop the same words.
INDEX_STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "for", "from", "have", "if", "in",
    "is", "it", "may", "not", "of", "on", "or", "tbd", "that", "the", "this", "to", "us", "we",
    "when", "will", "with", "yet", "you", "your",
})  # fmt: skip


def fold_case(text: str) -> str:
    """Lower case as every engine indexes words and every query and highlight looks
    for them: ``str.lower``, with "İ" a plain "i", as readers type "Istanbul". It
    keeps ``text``'s length unless ``text`` already has an "i" and a combining dot."""
    return text.lower().replace(DOTTED_I, "i")


# Letters with no decomposition into a base letter and a mark, as readers type them.
_UNMARKED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i",
                           "ŀ": "l", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th"})  # fmt: skip


def without_accents(word: str) -> str:
    """``word`` (folded) as readers type it without diacritics, as both engines index
    and look up words: "élysée" is "elysee", "gdańsk" "gdansk", "łódź" "lodz"."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word.translate(_UNMARKED))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# Latin-1's characters below its first letter with a diacritic ("À"): "£", "©",
# "«", "°". A Latin-1 text of only those and ASCII has nothing to fold.
_BELOW_LATIN_LETTERS = bytes(range(0xC0))


def _may_have_diacritics(text: str) -> bool:
    """Whether ``text`` may have a letter with diacritics: for news in Latin-1 ("£",
    not "é") two calls in C, where a regex scan took 10 us a body."""
    try:
        return bool(text.encode("latin-1").translate(None, _BELOW_LATIN_LETTERS))
    except UnicodeEncodeError:  # characters past Latin-1: curly quotes, or Gdańsk
        return _LETTERS_WITH_DIACRITICS.search(text) is not None


# Where letters with diacritics are past Latin-1 (Latin Extended-A and B, the
# combining marks, Greek, Cyrillic, Latin Extended Additional).
_LETTERS_WITH_DIACRITICS = re.compile("[\u00c0-\u04ff\u1e00-\u1eff]")


def letters_without_accents(text: str) -> str:
    """``text`` with each letter's diacritics dropped where one letter is left ("é" is
    "e"; "ß" stays): every character stays in its place, for finding words in a text
    as written. A text with no letter to fold (most news) is returned as it is, after
    one scan in C; in another, each distinct letter is folded once."""
    if text.isascii() or not _may_have_diacritics(text):
        return text
    bare = {char: _bare_letter(char) for char in set(text) if not char.isascii()}
    changed = "".join(char for char, letter in bare.items() if letter != char)
    if not changed:
        return text
    return re.sub(f"[{re.escape(changed)}]", lambda match: bare[match.group()], text)


@cache
def _bare_letter(char: str) -> str:
    bare = without_accents(char)
    return bare if len(bare) == 1 else char


def without_possessive(word: str) -> str:
    """``word`` without a trailing possessive: "Trump’s" is "Trump"."""
    return word[:-2] if word.endswith(("'s", "’s")) else word


@cache
def english_stop_words() -> frozenset[str]:
    """spaCy's English stop words (326 of them, contractions included)."""
    spec = importlib.util.find_spec("spacy")
    if spec is None or spec.origin is None:
        raise ImportError("spaCy is not installed; it is one of the project's dependencies")
    path = Path(spec.origin).parent / "lang" / "en" / "stop_words.py"
    return frozenset(runpy.run_path(str(path))["STOP_WORDS"])

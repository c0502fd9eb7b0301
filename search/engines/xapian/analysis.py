"""Words into Xapian terms: ``search.analysis``'s tokens, case, possessives and stop
words, as the Whoosh engine has them, stemmed by Xapian's English (Porter2) stemmer.

Every field's terms carry a prefix, so title, body and people words are counted
apart (BM25 per field, weighted at query time as the Whoosh engine weighs them). A
plain word is scored on its terms in every field taken as one (``HEADLINE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

import xapian

from search.analysis import (
    INDEX_STOP_WORDS,
    TOKEN,
    fold_case,
    without_accents,
    without_possessive,
)

PREFIXES = {"title": "XT", "body": "XB", "people": "XN"}
# A headline's words again, without positions, each occurrence counted
# ``HEADLINE_WDF`` times: a plain word is one term over the headline, body and
# people terms (Xapian's OP_SYNONYM adds their within-document frequencies), so one
# length normalises every field (BM25F). A title derived from the lead sentence has
# none: its words are the body's own. These stand in for terms of every field's words
# in one, which repeated the body's: a fourth of what Xapian inverted in a build. The
# weight was measured (docs/relevance.md): 2, the old all-text terms' title weight,
# ranked Cranfield below the Whoosh engine (0.387 against 0.391); 3 to 6 gave
# 0.393-0.394, and CACM 0.511, 0.514, 0.525, 0.525.
HEADLINE, HEADLINE_WDF = "XH", 4
PERSON = "XP"  # an exact canonical name, for filters and facets
# A word as written (lower-cased, unstemmed), for spelling suggestions: plain terms,
# which Xapian's remote backend serves (its spelling table it does not).
SPELLING = "XW"
# A new database counts its words as written once, a metadata entry a word (this
# prefix and the word; its number of documents), where a term in each document was a
# fifth of a build (``writer.build``); a document written later carries ``SPELLING``
# terms. Metadata is served remotely too.
SPELLING_KEY = "search.spelling."
# Completion keys (``search.completions``), by kind: plain terms, counted by termfreq.
COMPLETE = {"person": "XCP", "word": "XCW"}
ID = "Q"
STORY = "XS"
DATE = "XD"
# Value slots: the date for ranges, month and year for facets, story for collapse;
# the id, and the date then the id, for the order: ties are broken by id so that
# the order never depends on where a document is stored (one database or shards,
# the order articles were written in). Xapian's remote backend takes no key maker,
# so the date order has a slot of its own. The people facet counts a document's
# people as one value (``people_value``): Xapian's own spy counts each set of names
# where the documents are, on a shard server too, and the reader splits the sets.
# What an incremental reindex reads of every article (id, path, content hash, story,
# MinHash) is one value too: a spy sends a shard's all in one answer, where reading
# each document's data took a round trip per document. On a cluster's replicas each
# document carries the number of the run that wrote it (``RUN_SLOT``), so a replica
# that missed runs copies from a peer only what they wrote.
(DATE_SLOT, MONTH_SLOT, YEAR_SLOT, STORY_SLOT, ID_SLOT, DATE_ID_SLOT, PEOPLE_SLOT,
 STORED_SLOT, RUN_SLOT) = range(9)  # fmt: skip
PEOPLE_SEPARATOR = "\x1f"
# Written into each database's metadata; an index of an older format is served as
# it is (the reader does without the slots it lacks) and rebuilt in full by the
# next reindex.
FORMAT_KEY, FORMAT = "search.format", 9
PEOPLE_SLOT_SINCE, STORED_SLOT_SINCE = 3, 4
# A longer "word" (a run of letters in a scrape, a hash) is not indexed: as a term
# with its prefix it would be past the 245 bytes Xapian takes, and fail the document.
MAX_WORD_BYTES = 200
_STEM = xapian.Stem("english")


def words(text: str) -> Iterator[str]:
    """Lower-cased words without possessives or diacritics (``search.analysis``)."""
    for word in written_words(text):
        yield without_accents(word)


def written_words(text: str) -> Iterator[str]:
    """Lower-cased words without possessives, diacritics kept (case folded first: a
    word the caller lower-cased with ``str.lower`` is still one word); none longer
    than ``MAX_WORD_BYTES``."""
    for token in TOKEN.findall(fold_case(text)):
        if (word := without_possessive(token)) and _indexable(word):
            yield word


def _indexable(word: str) -> bool:
    return len(word) * 4 <= MAX_WORD_BYTES or len(word.encode("utf-8")) <= MAX_WORD_BYTES


@lru_cache(maxsize=200_000)
def analyzed(word: str) -> str | None:
    """The index form of one word of a title or body, None for a stop word."""
    forms = [_STEM(w).decode("utf-8") for w in words(word) if w not in INDEX_STOP_WORDS]
    return forms[0] if forms else None


def text_terms(text: str) -> list[str]:
    """Index forms of a title's or a body's words, in order (stop words dropped)."""
    return terms_and_spellings(text)[0]


def terms_and_spellings(text: str) -> tuple[list[str], set[str]]:
    """A text's ``text_terms``, and the words as written that a spelling suggestion
    may offer (no stop words, numbers or scraps; diacritics kept), in one pass where
    each distinct token is looked at once (``_token``): two passes over each word
    were half of making a document."""
    forms, spellings = [], set()
    for token in TOKEN.findall(fold_case(text)):
        form, spelling = _token(token)
        if form is not None:
            forms.append(form)
        if spelling is not None:
            spellings.add(spelling)
    return forms, spellings


@lru_cache(maxsize=200_000)
def _token(token: str) -> tuple[str | None, str | None]:
    """A case-folded token's index form, and the word as written that a suggestion
    may offer, each None where it has none."""
    word = without_possessive(token)
    if not word or not _indexable(word):
        return None, None
    offered = word not in INDEX_STOP_WORDS and len(word) > 2 and word.isalpha()
    return analyzed(without_accents(word)), word if offered else None


def query_terms(text: str) -> list[str]:
    """Index forms of a query's title or body words (``query_words``)."""
    return [form for _, form in query_words(text)]


def query_words(text: str) -> list[tuple[str, str]]:
    """A query's words as people terms hold them, each with its index form for titles
    and bodies; stop words are left out. A word of one letter or digit is not searched
    for, as the Whoosh engine's analysis drops it everywhere: one query language finds
    as much on both engines ("e-mail" is "mail", "x" nothing)."""
    return [(word, form) for word in words(text) if len(word) > 1 and (form := analyzed(word))]


def name_terms(text: str) -> list[str]:
    """People words: lower-cased, unstemmed, stop words kept ("Will Young")."""
    return list(words(text))


def people_value(names: Iterable[str]) -> str:
    """A document's people as one value of ``PEOPLE_SLOT``."""
    return PEOPLE_SEPARATOR.join(name.replace(PEOPLE_SEPARATOR, " ") for name in names)


def people_of(value: str) -> list[str]:
    """The names of a ``people_value``."""
    return value.split(PEOPLE_SEPARATOR) if value else []

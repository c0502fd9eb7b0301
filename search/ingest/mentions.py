"""Where an article names persons: the model's PERSON entities, and the names it
misses in results tables and line-ups, found by their shape.

A model trained on prose reads "14 - Justin Swart, 13 - Japie Mulder" or "A. Fraser
5-79" badly: most persons CoNLL-2003's development set names and the model missed
stood in such lists. What the model tagged still decides where a list is:

* a name in quotes is a title ("Cast Away"), not a person;
* an initial and a surname ("A. Fraser") is a person, unless the model read it as a
  place ("S. Korea");
* in a line that lists persons (three full names there, found by the model, as
  initials or as names the article gives elsewhere; or the line is short and three
  of its short neighbours name persons) every other run of two to four capitalised
  words between the list's separators is a person too; not in prose (over 30 % of
  the line's words in lower case), not in parentheses (a club or a country), not a
  possessive, not led by a common word ("In June");
* a name in capitals that is not a name the article gives in mixed case is a
  headline's words ("BALTIMORE AT"), not a person;
* a compass point shortened before a country is a place, as wire headlines write
  them ("S. Korea", "N. Ireland", "S. African"), not an initial and a surname: the
  model tags them as persons.

Positions are kept so that the mentions come back in text order: prominence ties go
to the person named first.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from search.analysis import english_stop_words
from search.ingest.names import PARTICLES, clean_mention, fold, name_contains

QUOTES = frozenset("\"'“”‘’")
PLACES = frozenset({"GPE", "NORP", "LOC"})
# Labels of numbers: a name beside a score or a date is still a name.
NUMBERS = frozenset({"CARDINAL", "DATE", "TIME", "QUANTITY", "ORDINAL", "MONEY", "PERCENT"})
LIST_PERSONS = 3
SHORT_LINE = 100
NEIGHBOURS = 2
PROSE_LOWERCASE = 0.3

_WORD = r"(?:[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:[-'’][A-Z]?[a-z]+)*|O'[A-Z][a-z]+)"
_PARTICLE = "(?:" + "|".join(sorted(PARTICLES)) + ")"
NAME_RUN = re.compile(rf"(?<![\w.]){_WORD}(?: (?:{_PARTICLE} )*{_WORD}){{1,3}}(?!\w)")
INITIALLED = re.compile(r"(?<![\w.])[A-Z]\. ?(?:[A-Z][a-z]+[A-Za-z'’-]*|[A-Z]'[A-Z][a-z]+)(?!\w)")
# What may stand before and after an item of a list: the line's start or end, a
# separator, a number ("3. ", "14 - ") or the word of a result ("beat"), looked for
# in a few characters either side (a whole line each time would be quadratic).
ITEM_CONTEXT = 16
_BEFORE_ITEM = re.compile(r"(?:[,;:\-–]|\d\.?|\bbeat|\band)\s*$")
_AFTER_ITEM = re.compile(r"^\s*(?:$|[,;:()\-–]|\d|and\b|beat\b)")
_LETTERS = re.compile(r"[^\W\d_]+")
_POSSESSIVE = re.compile(r"['’]s?$")
_COUNTRIES = ("Africa", "African", "America", "American", "Carolina", "Cyprus", "Dakota",
              "Germany", "German", "Ireland", "Irish", "Korea", "Korean", "Sudan", "Sudanese",
              "Vietnam", "Vietnamese", "Yemen", "Yemeni")  # fmt: skip
COMPASS_PLACE = re.compile(rf"[NSEW]\. ?(?:{'|'.join(_COUNTRIES)})\b")


@dataclass(frozen=True)
class Entity:
    """A span the model labelled, in characters of its paragraph."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Paragraph:
    """A line of an article with the model's entities in it, in text order and not
    overlapping (as spaCy gives them)."""

    text: str
    entities: tuple[Entity, ...]

    def overlapping(self, start: int, end: int) -> list[Entity]:
        """The entities that share a character with ``[start, end)``, found by
        bisection: a long list line has thousands of names and entities."""
        found = []
        for index in range(bisect.bisect_right(self._ends, start), len(self.entities)):
            if self.entities[index].start >= end:
                break
            found.append(self.entities[index])
        return found

    @functools.cached_property
    def _ends(self) -> list[int]:
        return [entity.end for entity in self.entities]


@dataclass(frozen=True, order=True)
class Mention:
    """A name as written, and where it stands (ordering is text order)."""

    paragraph: int
    start: int
    end: int
    text: str


def person_mentions(paragraphs: Sequence[Paragraph]) -> list[str]:
    """The persons an article names, as written, in text order."""
    found = tagged(paragraphs) + initialled(paragraphs)
    found += listed(paragraphs, found)
    named = [mention.text for mention in sorted(found) if not COMPASS_PLACE.match(mention.text)]
    return _without_headline_words(named)


def tagged(paragraphs: Sequence[Paragraph]) -> list[Mention]:
    """The model's PERSON entities, but for those in quotes."""
    return [
        Mention(number, entity.start, entity.end, paragraph.text[entity.start : entity.end])
        for number, paragraph in enumerate(paragraphs)
        for entity in paragraph.entities
        if entity.label == "PERSON" and not _quoted(paragraph.text, entity)
    ]


def initialled(paragraphs: Sequence[Paragraph]) -> list[Mention]:
    """Initial-and-surname names the model did not tag, nor read as places."""
    return [
        Mention(number, match.start(), match.end(), match.group())
        for number, paragraph in enumerate(paragraphs)
        for match in INITIALLED.finditer(paragraph.text)
        if match.group().split()[-1].lower() not in english_stop_words()
        and not _overlaps(paragraph, match.start(), match.end(), lambda label: label in PLACES)
        and not _inside_person(paragraph, match.start(), match.end())
    ]


def listed(paragraphs: Sequence[Paragraph], found: Sequence[Mention]) -> list[Mention]:
    """Names in lines that list persons, beside those ``found`` there."""
    runs = [list(NAME_RUN.finditer(paragraph.text)) for paragraph in paragraphs]
    persons = _persons_per_line(runs, found)
    return [
        Mention(number, run.start(), run.end(), run.group())
        for number, paragraph in enumerate(paragraphs)
        if _lists_persons(paragraphs, persons, number)
        for run in runs[number]
        if _is_item(paragraph, run)
    ]


def _persons_per_line(runs: list[list[re.Match[str]]], found: Sequence[Mention]) -> Counter[int]:
    """Full names found in each line, and runs there that are a full name the
    article gives elsewhere (a line-up repeats the players of the report above it)."""
    full = [mention for mention in found if len(clean_mention(mention.text)) > 1]
    known = {fold(" ".join(clean_mention(mention.text))) for mention in full}
    spans = {(mention.paragraph, mention.start, mention.end) for mention in full}
    persons = Counter(mention.paragraph for mention in full)
    for number, line in enumerate(runs):
        persons[number] += sum(
            1
            for run in line
            if fold(run.group()) in known and (number, run.start(), run.end()) not in spans
        )
    return persons


def _lists_persons(paragraphs: Sequence[Paragraph], persons: Counter[int], number: int) -> bool:
    """Whether a line is one of a list of persons, and no prose."""
    text = paragraphs[number].text
    words = _LETTERS.findall(text)
    if sum(word[0].islower() for word in words) > PROSE_LOWERCASE * len(words):
        return False
    if persons[number] >= LIST_PERSONS:
        return True
    if len(text) > SHORT_LINE:
        return False
    near = range(max(0, number - NEIGHBOURS), min(len(paragraphs), number + NEIGHBOURS + 1))
    short = [other for other in near if len(paragraphs[other].text) <= SHORT_LINE]
    return sum(1 for other in short if persons[other]) >= LIST_PERSONS


def _is_item(paragraph: Paragraph, run: re.Match[str]) -> bool:
    """Whether a run of capitalised words stands alone between a list's separators,
    outside every entity but numbers (the model's own names are already found)."""
    text, start, end = paragraph.text, run.start(), run.end()
    before = text[max(0, start - ITEM_CONTEXT) : start]
    first = start <= ITEM_CONTEXT and not before.strip()
    after = text[end : end + ITEM_CONTEXT]
    return (
        bool((first or _BEFORE_ITEM.search(before)) and _AFTER_ITEM.search(after))
        and not _POSSESSIVE.search(run.group())
        and run.group().split()[0].lower() not in english_stop_words()
        and not _overlaps(paragraph, start, end, lambda label: label not in NUMBERS)
    )


def _without_headline_words(mentions: list[str]) -> list[str]:
    """Mentions but those in capitals that no mixed-case full name of the article
    contains or is contained in."""
    mixed = [name for name in map(clean_mention, mentions) if len(name) > 1]
    mixed = [name for name in mixed if not " ".join(name).isupper()]
    kept = []
    for mention in mentions:
        name = clean_mention(mention)
        shouted = len(name) > 1 and " ".join(name).isupper()
        if not shouted or any(name_contains(m, name) or name_contains(name, m) for m in mixed):
            kept.append(mention)
    return kept


def _quoted(text: str, entity: Entity) -> bool:
    before, after = text[entity.start - 1 : entity.start], text[entity.end : entity.end + 1]
    return before in QUOTES and after in QUOTES


def _overlaps(paragraph: Paragraph, start: int, end: int, counts: Callable[[str], bool]) -> bool:
    """Whether an entity whose label ``counts`` overlaps the span."""
    return any(counts(entity.label) for entity in paragraph.overlapping(start, end))


def _inside_person(paragraph: Paragraph, start: int, end: int) -> bool:
    return any(
        entity.label == "PERSON" and entity.start <= start and end <= entity.end
        for entity in paragraph.overlapping(start, end)
    )

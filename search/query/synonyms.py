"""Synonyms: words and phrases that mean the same thing to a reader, applied to the
tree of ``q`` at query time, the same way for every engine.

A set is a list of groups, ``{"synonyms": ["uk", "united kingdom", "britain"]}``,
whose words and phrases all match each other, and one-way roots, ``{"root": "pm",
"synonyms": ["prime minister"]}``, where the root also matches its synonyms but not
the other way round. A plain word of ``q`` (in every text field, or in ``title:`` or
``body:``) that is a group member or a root becomes an OR of itself and its synonyms
(a phrase of several words as a phrase), and so does a run of plain words typed one
after another that spell a multi-word member ("united kingdom"), or a quoted phrase
that is one. Words compare as the index compares them, case and diacritics folded;
stems do not (``uk`` is not ``uks``). The engines then compile the wider tree as any
other, so a synonym's match is highlighted as well. The set lives in the index
folder's durable records (``search.durable``): ``PUT /synonyms`` changes it for the
next search of every worker, without a reindex.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search import durable
from search.analysis import TOKEN, fold_case, without_accents
from search.errors import InvalidBody
from search.model import And, Node, Not, Or, Phrase, Word

MAX_ENTRIES = 10_000
MAX_WORDS = 4
MAX_CHARS = 100
# A run of typed words is matched against members of up to this many words.
FIELDS = (None, "title", "body")

Words = tuple[str, ...]


@dataclass(frozen=True)
class Synonyms:
    """A validated set: as given (for ``GET``), and what each member or root expands to."""

    entries: tuple[dict[str, Any], ...] = ()
    expansions: dict[Words, tuple[Words, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.expansions)

    def expand(self, tree: Node) -> Node:
        """``tree`` with each member and root ORed with its synonyms."""
        return _expand(tree, self) if self.expansions else tree


def words_of(text: str) -> Words:
    """A member's words as the index compares them."""
    return tuple(without_accents(word) for word in TOKEN.findall(fold_case(text)))


def parse(entries: Any) -> Synonyms:
    """A synonym set from its JSON form.

    Raises:
        InvalidBody: not a list of groups and roots, naming the first bad entry.
    """
    if not isinstance(entries, list):
        raise InvalidBody('synonyms are a JSON array: [{"synonyms": [...]}, {"root": ...}]')
    if len(entries) > MAX_ENTRIES:
        raise InvalidBody(f"at most {MAX_ENTRIES:,} entries")
    expansions: dict[Words, list[Words]] = {}
    for number, entry in enumerate(entries):
        members, root = _entry(number, entry)
        sources = [root] if root else members
        for source in sources:
            wider = expansions.setdefault(source, [])
            wider += [member for member in members if member != source and member not in wider]
    return Synonyms(tuple(entries), {key: tuple(value) for key, value in expansions.items()})


def _entry(number: int, entry: Any) -> tuple[list[Words], Words | None]:
    """An entry's members (the root's synonyms, for a root) and its root."""
    where = f"entry {number}"
    if not isinstance(entry, dict) or not isinstance(entry.get("synonyms"), list):
        raise InvalidBody(f'{where}: an object with a "synonyms" list')
    if set(entry) - {"synonyms", "root"}:
        raise InvalidBody(f'{where}: only "synonyms" and "root"')
    root = _member(where, entry["root"]) if "root" in entry else None
    members = [_member(where, text) for text in entry["synonyms"]]
    if len(members) < (1 if root else 2):
        raise InvalidBody(f"{where}: a group needs two synonyms, a root one")
    return members, root


def _member(where: str, text: Any) -> Words:
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHARS:
        raise InvalidBody(f"{where}: each synonym is a word or phrase of 1-{MAX_CHARS} characters")
    words = words_of(text)
    if not 1 <= len(words) <= MAX_WORDS:
        raise InvalidBody(f"{where}: {text!r} must be 1 to {MAX_WORDS} words")
    return words


def _expand(node: Node, synonyms: Synonyms) -> Node:
    if isinstance(node, And):
        return And(tuple(_runs(node.parts, synonyms)))
    if isinstance(node, Or):
        return Or(tuple(_expand(part, synonyms) for part in node.parts))
    if isinstance(node, Not):
        return node  # an excluded word excludes only itself
    if isinstance(node, Word | Phrase) and node.field in FIELDS:
        return _widened(node, words_of(node.text), synonyms)
    return node


def _widened(node: Node, words: Words, synonyms: Synonyms) -> Node:
    """``node`` ORed with the synonyms of ``words``, in ``node``'s field."""
    wider = synonyms.expansions.get(words)
    if not wider:
        return node
    field_name = node.field if isinstance(node, Word | Phrase) else None
    return Or((node, *(_leaf(other, field_name) for other in wider)))


def _leaf(words: Words, field_name: str | None) -> Node:
    text = " ".join(words)
    return Word(text, field_name) if len(words) == 1 else Phrase(text, field_name)


def _runs(parts: Sequence[Node], synonyms: Synonyms) -> list[Node]:
    """``parts`` widened, each run of plain words that spells a multi-word member
    (the longest first) made one phrase and widened as one."""
    longest = max((len(key) for key in synonyms.expansions), default=1)
    out: list[Node] = []
    index = 0
    while index < len(parts):
        for size in range(min(longest, len(parts) - index), 1, -1):
            run = parts[index : index + size]
            if all(isinstance(p, Word) and p.field is None for p in run):
                words = tuple(w for p in run if isinstance(p, Word) for w in words_of(p.text))
                if words in synonyms.expansions:
                    out.append(_widened(Phrase(" ".join(words)), words, synonyms))
                    index += size
                    break
        else:
            out.append(_expand(parts[index], synonyms))
            index += 1
    return out


class SynonymStore:
    """The synonym set of one index folder, read again whenever it changed."""

    def __init__(self, folder: Path) -> None:
        self.records = durable.Records(folder)
        self._version = -1
        self._current = Synonyms()

    def current(self) -> tuple[int, Synonyms]:
        """The set and its version (0 before any was put): every search reads the
        version, and the set itself only when the version changed."""
        with self.records.using() as db:
            row = db.execute("SELECT version FROM synonyms WHERE one = 1").fetchone()
            version = row[0] if row else 0
            if version != self._version:
                body = db.execute("SELECT body FROM synonyms WHERE one = 1").fetchone()
                self._version, self._current = version, parse(json.loads(body[0] if body else "[]"))
        return self._version, self._current

    def put(self, entries: Any) -> Synonyms:
        """Replace the set (durably), for the next search of every worker.

        Raises:
            InvalidBody: the set is not valid; the old one stays.
        """
        synonyms = parse(entries)
        with self.records.transaction() as db:
            db.execute(
                "INSERT INTO synonyms (one, version, body) VALUES (1, 1, ?) ON CONFLICT (one)"
                " DO UPDATE SET version = version + 1, body = excluded.body",
                (json.dumps(entries),),
            )
        return synonyms

"""How right the people are: document-level persons against CoNLL-2003's gold.

Each document of the CoNLL-2003 English set (its first sentence the headline, the
rest the body) goes through the project as an app's article would: written as a
JSON record with no people, indexed by ``search.indexer``, and read back with
``SearchService.document``, so the figure is the contract's ``people``. Beside it,
the spaCy model's raw PERSON mentions of the same text, resolved the way the gold
is, show what the project's canonicalisation adds or loses.

Gold persons are the document's distinct PER mentions, a partial mention (a surname
after the first mention) counting as the full name it resolves to in the same
document and a name never given in full counting as written ("Ronaldo"). Names are
compared accent- and case-insensitively; precision, recall and F1 are micro-averaged
over (document, person) pairs.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from search.indexer import Indexer
from search.ingest.names import fold, name_contains
from search.ingest.people import PersonFinder
from search.service import SearchService
from search.stores.local import LocalStore

DOCSTART = "-DOCSTART-"
# Tokens that attach to the word before ("Simmons 's" -> "Simmons's") or after.
_NO_SPACE_BEFORE = re.compile(r" (?=[,.;:!?%)\]}]|'s\b|n't\b|'\s)")
_NO_SPACE_AFTER = re.compile(r"(?<=[(\[{$]) ")


@dataclass
class GoldDocument:
    """One CoNLL document as an article, with its gold persons."""

    id: str
    title: str
    body: str
    people: set[str]


def read_conll(path: Path) -> list[GoldDocument]:
    """The documents of a CoNLL-2003 file (``token POS chunk NER`` a line, IOB1 tags)."""
    documents = []
    for number, sentences in enumerate(_documents(path.read_text(encoding="utf-8"))):
        if not sentences:
            continue
        mentions = [m for sentence in sentences for m in _persons(sentence)]
        text = [_detokenize(token for token, _ in sentence) for sentence in sentences]
        documents.append(
            GoldDocument(f"conll-{number:03d}", text[0], "\n".join(text[1:]) or text[0],
                         set(gold_people(mentions)))
        )  # fmt: skip
    return documents


def _documents(text: str) -> Iterator[list[list[tuple[str, str]]]]:
    """Each document's sentences, each a list of (token, NER tag)."""
    sentences: list[list[tuple[str, str]]] = []
    sentence: list[tuple[str, str]] = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == DOCSTART:
            if sentences:
                yield sentences
            sentences, sentence = [], []
        elif not parts:
            if sentence:
                sentences.append(sentence)
            sentence = []
        else:
            sentence.append((parts[0], parts[-1]))
    if sentence:
        sentences.append(sentence)
    if sentences:
        yield sentences


def _persons(sentence: list[tuple[str, str]]) -> Iterator[str]:
    """PER mentions: maximal runs of PER tokens, a B-PER starting a new one."""
    run: list[str] = []
    for token, tag in sentence:
        if tag.endswith("-PER") and not (tag == "B-PER" and run):
            run.append(token)
            continue
        if run:
            yield " ".join(run)
        run = [token] if tag == "B-PER" else []
    if run:
        yield " ".join(run)


def _detokenize(tokens: Iterable[str]) -> str:
    return _NO_SPACE_AFTER.sub("", _NO_SPACE_BEFORE.sub("", " ".join(tokens)))


def gold_people(mentions: list[str]) -> list[str]:
    """Each mention as the longest name of the document that contains it."""
    names = [tuple(m.split()) for m in mentions]
    resolved = []
    for name in names:
        longer = [other for other in names if len(other) > len(name) and name_contains(other, name)]
        best = max(longer, key=len) if longer else name
        if " ".join(best) not in resolved:
            resolved.append(" ".join(best))
    return resolved


def score(gold: Mapping[str, set[str]], found: Mapping[str, Iterable[str]]) -> dict[str, float]:
    """Micro-averaged precision, recall and F1 over (document, person) pairs."""
    hits = wrong = missed = 0
    for doc_id, persons in gold.items():
        expected = {fold(name) for name in persons}
        got = {fold(name) for name in found.get(doc_id, ())}
        hits += len(expected & got)
        wrong += len(got - expected)
        missed += len(expected - got)
    precision = hits / (hits + wrong) if hits + wrong else 0.0
    recall = hits / (hits + missed) if hits + missed else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "F1": f1}


def evaluate_people(
    path: Path, finder: PersonFinder | None = None, workdir: Path | None = None
) -> dict[str, dict[str, float]]:
    """The project's people (through the index) and the model's raw mentions, scored."""
    finder = finder or PersonFinder()
    documents = read_conll(path)
    gold = {doc.id: doc.people for doc in documents}
    texts = [f"{doc.title}\n\n{doc.body}" for doc in documents]
    # The model as one would run it alone: each whole document, every PERSON entity.
    mentions = (
        [ent.text for ent in parsed.ents if ent.label_ == "PERSON"]
        for parsed in finder.nlp.pipe(texts)
    )
    raw = {doc.id: gold_people(found) for doc, found in zip(documents, mentions, strict=True)}
    return {"project": score(gold, _indexed_people(documents, finder, workdir)),
            "spaCy raw": score(gold, raw)}  # fmt: skip


def _indexed_people(
    documents: list[GoldDocument], finder: PersonFinder, workdir: Path | None
) -> dict[str, list[str]]:
    """``people`` as ``GET /documents/{id}`` returns them after a reindex."""
    with tempfile.TemporaryDirectory(dir=workdir) as temporary:
        folder = Path(temporary)
        source = folder / "conll.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for doc in documents:
                out.write(json.dumps({"id": doc.id, "title": doc.title, "body": doc.body}) + "\n")
        store = LocalStore(folder / "index")
        Indexer(store, finder).reindex([source])
        service = SearchService(store)
        try:
            return {doc.id: service.document(doc.id).people for doc in documents}
        finally:
            service.close()

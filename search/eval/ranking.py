"""Ranking quality as numbers: a test collection through our own indexer and searcher.

A collection's documents are written as JSON records (title, body, no people to
find: these are not news) and indexed by ``search.indexer`` into a temporary
folder; each query runs through ``SearchService.search`` in bag-of-words mode
(``match="any"``: any word may match, more matches rank higher) with pseudo-relevance
feedback (``expand``), the code path of ``/search``. ir-measures scores the runs
against the collection's judgements.

Classic collections come in the SMART format (``.I`` starts a record, ``.T``,
``.W`` and other one-letter tags start its fields), so adding one is a loader
that maps its files and relevance codes onto ``Collection``.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import ir_measures

from search.indexer import Indexer
from search.query.language import PLAIN_WORD
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore

MEASURES = {
    "nDCG@10": ir_measures.nDCG @ 10,
    "MAP": ir_measures.AP,
    "Recall@100": ir_measures.R @ 100,
    "MRR@10": ir_measures.RR @ 10,
}
DEPTH = 100
# How a question is sent: with match=any, or as its words joined by OR.
FORMS = ("any", "or")
SMART_TAG = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")
# Per query, document id to score.
Ranking = dict[str, dict[str, float]]


@dataclass
class Collection:
    """Documents, queries and graded judgements (gain > 0 is relevant)."""

    name: str
    documents: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def read_smart(path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(id, {tag: text}) for each ``.I`` record of a SMART-format file."""
    record_id: str | None = None
    fields: dict[str, list[str]] = {}
    tag = ""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = SMART_TAG.match(line.rstrip())
        if match and match.group(1) == "I":
            if record_id is not None:
                yield record_id, _joined(fields)
            record_id, fields, tag = (match.group(2) or "").strip(), {}, ""
        elif match and not match.group(2):
            tag = match.group(1)
            fields.setdefault(tag, [])
        elif tag:
            fields[tag].append(line.strip())
    if record_id is not None:
        yield record_id, _joined(fields)


def _joined(fields: dict[str, list[str]]) -> dict[str, str]:
    return {tag: " ".join(line for line in lines if line) for tag, lines in fields.items()}


def load_cranfield(folder: Path) -> Collection:
    """Cranfield 1400: qrels number queries 1..225 in file order, and codes run
    backwards (1 = complete answer ... 4 = minimum interest, -1 = not relevant),
    so gain is ``5 - code`` and -1 counts as 0."""
    documents = {
        doc_id: (fields.get("T", ""), fields.get("W", ""))
        for doc_id, fields in read_smart(folder / "cran.all.1400")
    }
    queries = {
        str(number): fields.get("W", "")
        for number, (_, fields) in enumerate(read_smart(folder / "cran.qry"), 1)
    }
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            code = int(parts[2])
            qrels.setdefault(parts[0], {})[parts[1]] = 5 - code if 1 <= code <= 4 else 0
    return Collection("cranfield", documents, queries, qrels)


def load_cacm(folder: Path) -> Collection:
    """CACM: titles and abstracts (a title alone where there is none); only the 52 of
    64 queries with judgements count, every judged pair relevant (gain 1). Ids are
    zero-padded in the judgements ("01", "0756"), so every id is read as a number."""
    documents = {
        str(int(doc_id)): (fields.get("T", ""), fields.get("W", ""))
        for doc_id, fields in read_smart(folder / "cacm.all")
    }
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels.text").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            qrels.setdefault(str(int(parts[0])), {})[str(int(parts[1]))] = 1
    queries = {
        str(int(query_id)): fields.get("W", "")
        for query_id, fields in read_smart(folder / "query.text")
        if str(int(query_id)) in qrels
    }
    return Collection("cacm", documents, queries, qrels)


def untitled(collection: Collection) -> Collection:
    """The collection as most scrapes arrive: without titles (a record that had only a
    title keeps its text as its body), so the indexer derives each title itself."""
    documents = {
        doc_id: ("", body or title) for doc_id, (title, body) in collection.documents.items()
    }
    return replace(collection, name=f"{collection.name}-untitled", documents=documents)


LOADERS: dict[str, Callable[[Path], Collection]] = {
    "cranfield": load_cranfield,
    "cacm": load_cacm,
}


def write_records(collection: Collection, folder: Path) -> Path:
    """The collection's documents as one JSONL file the indexer reads like any feed."""
    path = folder / f"{collection.name}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for doc_id, (title, body) in collection.documents.items():
            # A title-only record (many CACM entries) is its own body.
            record = {"id": doc_id, "title": title, "body": body or title, "people": []}
            out.write(json.dumps(record) + "\n")
    return path


def as_or(question: str) -> str:
    """A question as the only bag-of-words form plain query syntax offers: its
    words joined by ``OR``."""
    return " OR ".join(PLAIN_WORD.findall(question))


def run(
    service: SearchService, queries: dict[str, str], form: str = "any", depth: int = DEPTH
) -> Ranking:
    """Ranked ids per query, scored by rank so ties cannot reorder them.

    Each question goes the way an app sends it: ``GET /search`` parameters through
    the same request parser and searcher, either as it is with ``match=any``
    (``form="any"``) or as its words joined by ``OR`` (``form="or"``), ``per_page``
    the depth; only highlighting and suggestions, which do not change the ranking,
    are skipped to save time.
    """
    ranking: Ranking = {}
    for query_id, text in queries.items():
        params = {"q": text, "match": "any"} if form == "any" else {"q": as_or(text)}
        request = parse_request({**params, "per_page": str(depth)})
        hits = service.search(replace(request, highlight=False, suggest=False)).hits
        ranking[query_id] = {hit.id: float(depth - rank) for rank, hit in enumerate(hits)}
    return ranking


def score(collection: Collection, ranking: Ranking) -> dict[str, float]:
    """Every measure of ``MEASURES`` for one ranking of the collection's queries."""
    scores = ir_measures.calc_aggregate(MEASURES.values(), collection.qrels, ranking)
    return {name: float(scores[measure]) for name, measure in MEASURES.items()}


def rankings(
    collection: Collection,
    workdir: Path | None = None,
    engine: str | None = None,
    forms: tuple[str, ...] = FORMS,
) -> dict[str, Ranking]:
    """Index the collection with the project's indexer (into ``engine``) and rank its
    queries in each of ``forms``."""
    with tempfile.TemporaryDirectory(dir=workdir) as temporary:
        folder = Path(temporary)
        source = folder / "source"
        source.mkdir()
        store = LocalStore(folder / "index")
        Indexer(store, engine=engine).reindex([write_records(collection, source)])
        service = SearchService(store, time_limit_s=60.0)
        try:
            return {form: run(service, collection.queries, form) for form in forms}
        finally:
            service.close()


def evaluate(
    collection: Collection, workdir: Path | None = None, engine: str | None = None
) -> dict[str, float]:
    """The project's scores on the collection, questions sent with ``match=any``."""
    return score(collection, rankings(collection, workdir, engine, ("any",))["any"])


def table(title: str, scores: dict[str, dict[str, float]]) -> str:
    """Measures down, systems across, for a terminal."""
    width = max(10, *(len(name) + 2 for name in scores))
    lines = [f"{title:<12}" + "".join(f"{name:>{width}}" for name in scores)]
    for measure in next(iter(scores.values())):
        lines.append(
            f"{measure:<12}" + "".join(f"{row[measure]:>{width}.4f}" for row in scores.values())
        )
    return "\n".join(lines)

"""One query language, one meaning: the same ``q`` finds as many articles on every
engine, over the BBC politics set (with the dated samples and records of
``make_corpus``): the queries are about its people and politics, and its people
are found once a session (the whole BBC set cost a minute and a half of the suite).

The people are found once (the Whoosh build) and the Xapian index is built from the
same articles, so only the engines' reading of ``q`` and their analysis differ.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from search.indexer import Indexer
from search.ingest.people import PersonFinder
from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore
from tests.conftest import BBC, EXTRA_RECORDS, SAMPLES

QUERIES = [
    # words, case, stemming, stop words, possessives
    "blair", "Blair", "BLAIR", "elections", "election", "the who", "trump's", "blair's",
    "government minister", "prime minister", "chancellor brown budget",
    # phrases
    '"gordon brown"', '"prime minister"', '"tony blair" election', '"paris declaration"',
    '"the the"',
    # operators
    "blair OR brown", "blair AND brown", "blair brown", "blair NOT brown", "blair -brown",
    "-blair", "NOT blair", "+blair brown", "+blair +brown", "blair OR brown OR howard",
    "(blair OR brown) election", "(blair OR brown) -(howard kennedy)", "blair AND (brown OR kennedy)",
    # fields
    "title:budget", "body:budget", "title:(blair OR brown)", 'title:"general election"',
    "people:blair", "people:(blair brown)", 'people:"tony blair"', "title:budget -body:tax",
    # prefixes, wildcards, fuzzy
    "elect*", "govern*", "title:elect*", "b?air", "*ection", "bl*r", "kenedy~", "blaire~",
    "governmnet~2", "title:minster~",
    # dates
    "date:2026-01-06", "date:[2026-01-01 TO 2026-01-31]", "date:[2025-01-01 TO *]",
    "date:[* TO 2025-01-01]", "budget date:[2025-01-01 TO 2025-12-31]",
    # hyphens, apostrophes, numbers, odd input
    "war-torn", "e-mail", "anti-terror laws", "o'brien", "don't", "2005", "1.5bn", "£",
    "mobile phone", "bbc", "uk economy", "iraq war",
    # where the engines once differed (Whoosh's query parser against the tree)
    "govern*ment", "24/7", "AT&T", "channel 4", "x", "brown^2", "hong-kong",
    "mr blair's government",
]  # fmt: skip


@pytest.fixture(scope="module")
def services(
    tmp_path_factory: pytest.TempPathFactory, finder: PersonFinder
) -> Iterator[dict[str, SearchService]]:
    """The corpus indexed by each engine, people found once."""
    root = tmp_path_factory.mktemp("parity")
    corpus = root / "corpus"
    shutil.copytree(BBC / "politics", corpus / "bbc" / "politics")
    for sample in SAMPLES.glob("*.txt"):
        shutil.copy(sample, corpus / sample.name)
    (corpus / "wire.jsonl").write_text("".join(json.dumps(r) + "\n" for r in EXTRA_RECORDS))
    whoosh = LocalStore(root / "whoosh")
    Indexer(whoosh, finder, jobs=2, engine="whoosh").reindex([corpus])
    xapian = LocalStore(root / "xapian")
    generation = whoosh.open_current()
    try:
        reader = generation.reader
        articles = [(reader.document(doc.id), doc.minhash) for doc in whoosh.stored_docs()]
        xapian.build([(a, m) for a, m in articles if a is not None], "xapian")
    finally:
        generation.reader.close()
        generation.close()
    opened = {"whoosh": SearchService(whoosh), "xapian": SearchService(xapian)}
    yield opened
    for service in opened.values():
        service.close()


def total(service: SearchService, q: str) -> int:
    return service.search(parse_request({"q": q, "per_page": "1"})).total


@pytest.mark.slow
def test_the_corpus_is_the_same_on_both_engines(services: dict[str, SearchService]) -> None:
    counts = {name: total(service, "") for name, service in services.items()}
    assert counts["whoosh"] == counts["xapian"] > 417


@pytest.mark.slow
@pytest.mark.parametrize("q", QUERIES)
def test_a_query_finds_as_many_articles_on_every_engine(
    services: dict[str, SearchService], q: str
) -> None:
    totals = {name: total(service, q) for name, service in services.items()}
    assert totals["whoosh"] == totals["xapian"], totals

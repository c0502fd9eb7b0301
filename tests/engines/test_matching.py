"""``Reader.matching`` on every engine: for each query, the ids among some that
``search`` finds (the Xapian engine matches plain queries on a copy of just those
articles, and patterns over the index)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from search.deadline import Deadline
from search.query.params import parse_request
from search.service import engine_query
from tests.query.test_language_parity import QUERIES


def test_each_query_matches_among_some_articles_what_search_finds_among_them(
    reader: Any,
) -> None:
    ids = sorted(doc.id for doc in reader.stored_docs())
    some = ids[::2]
    queries = [engine_query(parse_request({"q": q})) for q in QUERIES]
    queries += [engine_query(parse_request({"q": "", "people": ["Tony Blair"]})),
                engine_query(parse_request({"q": "labour", "from": "2005-01-01"}))]  # fmt: skip
    found = reader.matching(queries, some, Deadline.after(30))
    for query, matched in zip(queries, found, strict=True):
        window = replace(query, ids=tuple(some), offset=0, limit=len(some))
        searched = {hit.article.id for hit in reader.search(window, Deadline.after(10)).hits}
        assert matched == searched, query.tree
    assert sum(map(len, found)) > len(queries)  # most queries find some of them
    assert all(matched <= set(some) for matched in found)

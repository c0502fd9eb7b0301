"""Plain BM25 engines run on the same text as the project, as yardsticks for its ranking.

Each peer indexes a collection's documents (title and body as one text, the way
a plain full-text engine would get them) and answers each question as a bag of
words, with its own analysis: bm25s with the Snowball English stemmer and English
stop words, tantivy's ``en_stem`` tokenizer, SQLite FTS5's porter tokenizer, and
raw Whoosh's ``StemmingAnalyzer`` with BM25F. None of them is the project's code;
they are dev dependencies (the ``eval`` extra), imported only when they run.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Callable

from search.eval.ranking import DEPTH, Collection, Ranking

WORD = re.compile(r"\w+")
Peer = Callable[[Collection], Ranking]


def _texts(collection: Collection) -> tuple[list[str], list[str]]:
    ids = list(collection.documents)
    texts = [f"{title}\n{body}" for title, body in collection.documents.values()]
    return ids, texts


def _words(text: str) -> list[str]:
    return [word.lower() for word in WORD.findall(text)]


def _ranked(ids: list[str]) -> dict[str, float]:
    """Scores by rank, so ties are broken as the engine broke them."""
    return {doc_id: float(DEPTH - rank) for rank, doc_id in enumerate(ids[:DEPTH])}


def _per_question(collection: Collection, rank: Callable[[list[str]], list[str]]) -> Ranking:
    """Each question's words ranked by ``rank``; a question with no words finds nothing."""
    return {
        query_id: _ranked(rank(words)) if (words := _words(question)) else {}
        for query_id, question in collection.queries.items()
    }


def bm25s_peer(collection: Collection) -> Ranking:
    import bm25s
    import Stemmer

    ids, texts = _texts(collection)
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)  # fmt: skip
    ranking: Ranking = {}
    for query_id, question in collection.queries.items():
        tokens = bm25s.tokenize([question], stopwords="en", stemmer=stemmer, show_progress=False)
        found, scores = retriever.retrieve(tokens, k=min(DEPTH, len(ids)), show_progress=False)
        ranking[query_id] = _ranked(
            [ids[int(i)] for i, score in zip(found[0], scores[0], strict=True) if score > 0]
        )
    return ranking


def tantivy_peer(collection: Collection) -> Ranking:
    import tantivy

    ids, texts = _texts(collection)
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("n", stored=True)
    builder.add_text_field("text", tokenizer_name="en_stem")
    index = tantivy.Index(builder.build())
    writer = index.writer()
    for number, text in enumerate(texts):
        writer.add_document(tantivy.Document(n=number, text=text))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()

    def rank(words: list[str]) -> list[str]:
        hits = searcher.search(index.parse_query(" ".join(words), ["text"]), DEPTH).hits
        return [ids[searcher.doc(address)["n"][0]] for _, address in hits]

    return _per_question(collection, rank)


def fts5_peer(collection: Collection) -> Ranking:
    ids, texts = _texts(collection)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(text, tokenize='porter unicode61')")
    db.executemany("INSERT INTO docs(rowid, text) VALUES (?, ?)", enumerate(texts))

    def rank(words: list[str]) -> list[str]:
        match = " OR ".join(f'"{word}"' for word in dict.fromkeys(words))
        rows = db.execute(
            "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
            (match, DEPTH),
        ).fetchall()
        return [ids[row[0]] for row in rows]

    try:
        return _per_question(collection, rank)
    finally:
        db.close()


def whoosh_peer(collection: Collection) -> Ranking:
    from whoosh import fields, qparser
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.index import create_in

    ids, texts = _texts(collection)
    schema = fields.Schema(n=fields.STORED, text=fields.TEXT(analyzer=StemmingAnalyzer()))
    # On disk in a folder of its own: an index in RAM writes its postings through
    # $TMPDIR/MAIN.tmp, which another process doing the same deletes under it.
    with tempfile.TemporaryDirectory() as folder:
        index = create_in(folder, schema)
        with index.writer() as writer:
            for number, text in enumerate(texts):
                writer.add_document(n=number, text=text)
        parser = qparser.QueryParser("text", schema, group=qparser.OrGroup)
        with index.searcher() as searcher:
            return _per_question(
                collection,
                lambda words: [
                    ids[hit["n"]]
                    for hit in searcher.search(parser.parse(" ".join(words)), limit=DEPTH)
                ],
            )


PEERS: dict[str, Peer] = {
    "bm25s": bm25s_peer,
    "tantivy": tantivy_peer,
    "fts5": fts5_peer,
    "whoosh-raw": whoosh_peer,
}

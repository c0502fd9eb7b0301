"""The project's ranking beside plain BM25 peers, on every judged collection, in one run
(and, with ``--people``, its people against CoNLL-2003's gold persons).

For each collection of ../shared/data with judgements (and, with ``--untitled``, each
again with its titles withheld, as most scrapes arrive), the project indexes it with
each engine and answers every question through the ``/search`` code path twice
(``match=any``, and the words joined by ``OR``); the peers of ``peers.py`` rank the
same text. It prints nDCG@10, MAP, Recall@100 and MRR@10 per system, then a
summary: each engine's nDCG@10 against the best peer's, as a ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from peers import PEERS
from provenance import provenance

from search.engines import ENGINES
from search.eval.people import evaluate_people
from search.eval.ranking import LOADERS, Collection, rankings, score, table, untitled

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def evaluate_collection(
    collection: Collection, engines: list[str], peers: list[str]
) -> dict[str, dict]:
    """Scores per system (``engine/any``, ``engine/or``, peers by name) on one collection."""
    scores: dict[str, dict[str, float]] = {}
    for engine in engines:
        for form, ranking in rankings(collection, engine=engine).items():
            scores[f"{engine}/{form}"] = score(collection, ranking)
    for peer in peers:
        scores[peer] = score(collection, PEERS[peer](collection))
    return scores


def summary(results: dict[str, dict[str, dict[str, float]]], engines: list[str]) -> str:
    """nDCG@10 of each engine (match=any and OR) against the best peer, per collection."""
    head = f"{'collection':<12}{'best peer':>22}" + "".join(
        f"{f'{engine}/{form}':>16}{'ratio':>7}" for engine in engines for form in ("any", "or")
    )
    lines = [head]
    for name, scores in results.items():
        peers = {system: row for system, row in scores.items() if "/" not in system}
        best = max(peers, key=lambda system: peers[system]["nDCG@10"]) if peers else None
        best_score = peers[best]["nDCG@10"] if best else float("nan")
        line = f"{name:<12}{f'{best} {best_score:.4f}':>22}"
        for engine in engines:
            for form in ("any", "or"):
                ours = scores[f"{engine}/{form}"]["nDCG@10"]
                line += f"{ours:>16.4f}{ours / best_score:>7.2f}"
        lines.append(line)
    return "\n".join(lines)


def people(json_path: Path | None, ran: dict[str, str]) -> int:
    """The project's people beside the spaCy model's raw output, on CoNLL-2003."""
    started = time.monotonic()
    scores = evaluate_people(SHARED / "data" / "conll2003" / "eng.testa")
    print(f"people on CoNLL-2003 eng.testa, document level ({time.monotonic() - started:.0f}s)")
    print(table("", scores))
    if json_path:
        json_path.write_text(json.dumps({**ran, "scores": scores}, indent=2) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", action="append", choices=sorted(LOADERS))
    parser.add_argument("--engine", action="append", choices=ENGINES)
    parser.add_argument("--peer", action="append", choices=sorted(PEERS))
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--untitled",
        action="store_true",
        help="also rank each collection with its titles withheld, as untitled scrapes come",
    )
    parser.add_argument(
        "--people",
        action="store_true",
        help="score people instead: document-level persons on CoNLL-2003 (development set)",
    )
    args = parser.parse_args()
    ran = provenance()  # the code as it was when the run began
    if args.people:
        return people(args.json, ran)
    engines = args.engine or list(ENGINES)
    results = {}
    for name in args.collection or sorted(LOADERS):
        titled = LOADERS[name](SHARED / "data" / name)
        for collection in (titled, untitled(titled)) if args.untitled else (titled,):
            started = time.monotonic()
            scores = evaluate_collection(collection, engines, args.peer or list(PEERS))
            results[collection.name] = scores
            print(f"{collection.name} ({time.monotonic() - started:.0f}s)")
            print(table("", scores) + "\n", flush=True)
    print("nDCG@10 beside the best peer of the same run")
    print(summary(results, engines))
    if args.json:
        figures = {**ran, "engines": engines, "collections": results}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

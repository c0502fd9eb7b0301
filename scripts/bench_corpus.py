"""The benchmarks' corpus as an app would push it: the BBC set as JSONL records,
each with the people NER finds in it (found once, over one copy), copied as many
times as a scale asks, ids distinct, dates spread over two years. A 16x index of
them builds without NER, so ingest is measured on its own and beside peers that
take the same records.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from search.ingest.people import PersonFinder

START, DAYS = dt.date(2004, 1, 1), 730


def records(bbc: Path) -> list[dict[str, Any]]:
    """One copy of the BBC set as JSONL records, each with the people NER finds."""
    found = []
    for source in sorted(bbc.glob("*/*.txt")):
        title, _, body = source.read_text(encoding="latin-1").strip().partition("\n")
        found.append({"id": f"{source.parent.name}/{source.stem}", "title": title.strip(),
                      "body": body.strip()})  # fmt: skip
    texts = [text_of(record) for record in found]
    for record, people in zip(found, PersonFinder().people(texts, jobs=2), strict=True):
        record["people"] = people
    return found


def write_corpus(folder: Path, base: list[dict[str, Any]], scale: int) -> int:
    """``scale`` copies of ``base``, a JSONL file each, ids distinct, dates spread
    over two years; the number of articles."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for copy in range(scale):
        with (folder / f"copy{copy:02d}.jsonl").open("w") as out:
            for record in base:
                day = START + dt.timedelta(days=count * 37 % DAYS)
                dated = {**record, "id": f"copy{copy:02d}/{record['id']}", "date": str(day)}
                out.write(json.dumps(dated) + "\n")
                count += 1
    return count


def text_of(record: dict[str, Any]) -> str:
    return f"{record['title']}\n{record['body']}"

"""Whoosh, the embedded pure-Python engine and the default.

The only package that imports ``whoosh``: its schema and analysis (``schema``),
the query language as Whoosh queries (``parse``), writing (``writer``) and
searching (``reader``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

from search.engines.whoosh import writer
from search.engines.whoosh.reader import WhooshReader
from search.errors import ReindexError
from search.model import IndexDoc
from search.shards import Shards


class WhooshEngine:
    """Indexes in a folder of Whoosh segment files, one per generation."""

    name = "whoosh"
    # A reader keeps the segment files it opened, whatever is committed since.
    commit_gap_s = 0.0

    def build(self, path: Path, articles: Iterable[IndexDoc], procs: int) -> None:
        writer.build(path, articles, procs)

    def apply(self, path: Path, delete_ids: Iterable[str], articles: Iterable[IndexDoc]) -> None:
        writer.apply(path, delete_ids, articles)

    def open(self, path: Path) -> WhooshReader:
        return WhooshReader.open(path)

    def is_current_format(self, path: Path) -> bool:
        return writer.is_current_format(path)

    def cluster(self, shards: Shards, timeout_s: float) -> NoReturn:
        raise ReindexError("the whoosh engine cannot be sharded: use --engine xapian")

"""Xapian, the C++ engine for archives that outgrow Whoosh (``pip install '.[xapian]'``).

The only package that imports ``xapian`` (GPL-licensed: see the README). Terms come
from our own analysis (``analysis``), queries from our own parse (``parse``), so
the query language means the same here as on Whoosh.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import xapian

from search.documents import Article
from search.engines.xapian import writer
from search.engines.xapian.reader import XapianReader
from search.errors import ReindexError


class XapianEngine:
    """One Xapian (glass) database per generation folder."""

    name = "xapian"

    def build(self, path: Path, articles: Iterable[tuple[Article, bytes]], procs: int) -> None:
        try:
            writer.build(path, articles)
        except xapian.Error as exc:
            raise ReindexError(f"cannot write the new index: {exc}") from exc

    def apply(
        self, path: Path, delete_ids: Iterable[str], articles: Iterable[tuple[Article, bytes]]
    ) -> None:
        try:
            writer.apply(path, delete_ids, articles)
        except xapian.Error as exc:
            raise ReindexError(
                f"cannot write the index: {exc}; the served index is unchanged"
            ) from exc

    def open(self, path: Path) -> XapianReader:
        return XapianReader(path)

    def is_current_format(self, path: Path) -> bool:
        return True  # one format so far

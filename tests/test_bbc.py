"""The whole BBC set through the real command line: every article, then a served query."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from search.query.params import parse_request
from search.service import SearchService
from search.stores.local import LocalStore
from tests.conftest import BBC


@pytest.mark.slow
def test_bbc_reindex_indexes_all_articles_and_finds_tony_blair(tmp_path: Path) -> None:
    index = tmp_path / "index"
    result = subprocess.run(
        [sys.executable, "-m", "search.cli", "reindex", str(BBC), "--index", str(index)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2225 added, 0 updated, 0 deleted, 0 unchanged, 0 skipped" in result.stdout
    assert "Index now holds 2225 articles" in result.stdout
    service = SearchService(LocalStore(index))
    results = service.search(parse_request({"q": "Tony Blair", "facets": "people"}))
    assert results.total > 100
    top = results.hits[:10]
    assert sum(hit.id.startswith("politics/") for hit in top) >= 8
    assert all("<mark>Blair</mark>" in "".join(hit.highlights["body"]) for hit in top)
    assert [hit.score for hit in top] == sorted((hit.score for hit in top), reverse=True)  # type: ignore[arg-type]
    assert results.facets["people"][0]["value"] == "Tony Blair"
    service.close()

"""The docs' generated tables: current on main, and a stale one fails the check."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

COG = [str(ROOT / ".venv" / "bin" / "cog"), "--check", "-I", str(ROOT / "scripts"), "-I", str(ROOT)]


def test_every_generated_table_matches_the_code() -> None:
    docs = [str(ROOT / "README.md"), *map(str, sorted((ROOT / "docs").glob("*.md")))]
    result = subprocess.run([*COG, *docs], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_table_the_code_no_longer_gives_fails_the_check(tmp_path: Path) -> None:
    stale = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", stale)
    text = stale.read_text(encoding="utf-8")
    assert "| `SEARCH_WORKERS` |" in text
    stale.write_text(text.replace("| `SEARCH_WORKERS` |", "| `SEARCH_PROCESSES` |"))
    result = subprocess.run([*COG, str(stale)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0


def test_a_benchmark_table_follows_its_json_and_says_where_it_came_from(tmp_path: Path) -> None:
    figures = tmp_path / "relevance.json"
    row = {"nDCG@10": 0.5, "MAP": 0.4, "Recall@100": 0.7, "MRR@10": 0.6}
    collections = {"cacm": {"whoosh/any": row, "whoosh/or": row, "bm25s": {**row, "nDCG@10": 0.4}}}
    figures.write_text(
        json.dumps({"command": "scripts/evaluate --json x", "commit": "abc1234",
                    "engines": ["whoosh"], "collections": collections})
    )  # fmt: skip
    doc = tmp_path / "relevance.md"
    doc.write_text(
        f'<!-- [[[cog import docs_tables; docs_tables.relevance("{figures}")]]] -->\n'
        "<!-- [[[end]]] -->\n"
    )
    cog = [COG[0], "-r", *COG[2:], str(doc)]
    subprocess.run(cog, check=True, capture_output=True, cwd=ROOT)
    text = doc.read_text()
    assert "`scripts/evaluate --json x` on commit `abc1234`" in text
    assert "| cacm | **whoosh/any** | 0.500 | 0.400 | 0.700 | 0.600 | 1.25 |" in text
    assert "|  | bm25s | 0.400 | 0.400 | 0.700 | 0.600 | 1.00 |" in text
    collections["cacm"]["whoosh/any"] = {**row, "nDCG@10": 0.3}
    figures.write_text(json.dumps({"command": "c", "commit": "d", "engines": ["whoosh"],
                                   "collections": collections}))  # fmt: skip
    assert subprocess.run([*COG, str(doc)], capture_output=True, cwd=ROOT).returncode != 0

"""The docs' generated tables: current on main, and a stale one fails the check."""

from __future__ import annotations

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

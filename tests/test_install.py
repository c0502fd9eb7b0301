"""The install a user makes: a stock ``python3 -m venv`` and ``pip install .``.

``scripts/setup`` upgrades pip, so without this a dependency that only a newer pip
resolves (an extra spelled differently) would pass every other test and still
leave a user with commands that die on import.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROBE = (
    "import search.extract, search.indexer, search.app, search.engines.whoosh, search.page; "
    "search.page._TEMPLATES.get_template('page.html')"
)


@pytest.mark.slow
def test_stock_pip_install_gives_working_commands(tmp_path: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    source = tmp_path / "source"
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(source)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    for command in ("search-reindex", "search-serve", "search-evaluate"):
        result = subprocess.run(
            [str(venv / "bin" / command), "--help"], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"
        assert "usage:" in result.stdout
    # The help alone imports little: every module a reindex and a server load must
    # import, and the page's template must be there.
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PROBE],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-2000:]

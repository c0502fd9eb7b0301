"""The install a user makes, and the locks ``scripts/setup`` installs from.

``scripts/setup`` installs the locked test set, which brings packages the service
never asks for (schemathesis brought click, which spaCy imports and once left
undeclared): only a stock ``python3 -m venv`` and ``pip install .``, used as a user
uses it, shows that the declared dependencies are enough for a reindex with NER and
a search over HTTP.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lock_stamp import dependencies_stamp

from tests.conftest import ROOT, SAMPLES, Server

LOCKS = sorted((ROOT / "requirements").glob("*.txt"))
SUPPORTED = ["3.11", "3.12", "3.13"]


def python_for(version: str) -> str | None:
    """An interpreter of ``version`` on this machine: this one, one pyenv installed, or
    one on PATH that runs (a pyenv shim of a version not selected does not)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return str(getattr(sys, "_base_executable", sys.executable))
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    installed = sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    for candidate in [*installed[-1:], shutil.which(f"python{version}")]:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return None


def source_copy(target: Path) -> Path:
    """The project's files as a clone has them (nothing built, no .venv)."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def run(command: list[str], timeout: float, cwd: Path | None = None) -> str:
    """Run a user's command; its output, or a failure that shows why it failed."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert result.returncode == 0, f"{command[:3]}: {result.stderr[-3000:]}"
    return result.stdout


def search_seed_people(venv: Path, index: Path) -> list[str]:
    """Serve ``index`` with the venv's ``search-serve``; the people of the seed's hit."""
    served = Server(index, command=[str(venv / "bin" / "search-serve")])
    try:
        status, body = served.get("/search", {"q": "Paris Declaration"})
    finally:
        served.stop()
    assert status == 200, body
    hits = {hit["id"]: hit for hit in body["hits"]}
    assert "002_b2d6e95a1f926997" in hits, body
    return list(hits["002_b2d6e95a1f926997"]["people"])


def reindex_and_search(venv: Path, workdir: Path, engine: str) -> None:
    """A reindex of the samples with NER, then a search whose hit names the seed's people."""
    index = workdir / f"index-{engine}"
    run([str(venv / "bin" / "search-reindex"), str(SAMPLES), "--index", str(index),
         "--engine", engine], timeout=600, cwd=workdir)  # fmt: skip
    people = search_seed_people(venv, index)
    assert {"Keir Starmer", "Emmanuel Macron", "Volodymyr Zelensky"} <= set(people), people


@pytest.mark.slow
# The oldest and the newest Python: the one between resolves to the same wheels
# (``test_dependencies_resolve_to_wheels``), and a third install took 40 s of the suite.
@pytest.mark.parametrize("version", [SUPPORTED[0], SUPPORTED[-1]])
def test_a_users_pip_install_reindexes_with_ner_and_serves(tmp_path: Path, version: str) -> None:
    """Fresh venv, stock pip, ``pip install .``: reindex with NER, serve, search; then,
    on the newest Python, ``pip install '.[xapian]'`` and the same on the Xapian engine
    (on 3.11 ``scripts/setup`` installs the extra from the lock; 3.12 resolves it to
    wheels: ``test_dependencies_resolve_to_wheels``)."""
    python = python_for(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    source = source_copy(tmp_path / "source")
    venv = tmp_path / "venv"
    run([python, "-m", "venv", str(venv)], timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, str(source)], timeout=900)
    reindex_and_search(venv, tmp_path, "whoosh")
    if version == SUPPORTED[-1]:
        run([*pip, f"{source}[xapian]"], timeout=900)
        reindex_and_search(venv, tmp_path, "xapian")


@pytest.mark.slow
# 3.11 installs the locked extra in scripts/setup (requirements/dev.txt holds it).
@pytest.mark.parametrize("version", ["3.12", "3.13"])
@pytest.mark.parametrize("wanted", ["requirements/service-xapian.txt", ".[xapian]"])
def test_dependencies_resolve_to_wheels(tmp_path: Path, version: str, wanted: str) -> None:
    """Both the lock and the declared ranges install from wheels alone on newer Pythons,
    so pip never has to compile spaCy (which failed on 3.13 with spaCy 3.7)."""
    what = ["--require-hashes", "-r", wanted] if wanted.endswith(".txt") else [wanted]
    run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
         "--only-binary", ":all:", "--python-version", version, "--target", str(tmp_path),
         *what], timeout=600, cwd=ROOT)  # fmt: skip


@pytest.mark.parametrize("lock", LOCKS, ids=[lock.name for lock in LOCKS])
def test_each_lock_is_made_from_todays_pyproject(lock: Path) -> None:
    header = lock.read_text(encoding="utf-8").splitlines()[:6]
    assert f"# pyproject: {dependencies_stamp()}" in header, (
        f"{lock.name} was locked from other dependencies: run scripts/lock"
    )


def test_the_locks_pin_every_package_with_hashes() -> None:
    for lock in LOCKS:
        pins = [line for line in lock.read_text().splitlines() if line[:1].isalnum()]
        assert pins, lock
        for pin in pins:
            assert "==" in pin and pin.endswith("\\"), f"{lock.name}: {pin}"
    assert {lock.name for lock in LOCKS} == {"dev.txt", "service.txt", "service-xapian.txt"}

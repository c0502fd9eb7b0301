"""Settings: every ``SEARCH_*`` variable read in one place, typed, flags over it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from search.config import Settings
from tests.conftest import ROOT


def test_each_variable_is_read_with_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_INDEX_DIR", "/srv/news")
    monkeypatch.setenv("SEARCH_WORKERS", "4")
    monkeypatch.setenv("SEARCH_TIME_LIMIT_S", "1.5")
    monkeypatch.setenv("SEARCH_MAX_CONNECTIONS", "100")
    monkeypatch.setenv("SEARCH_ENGINE", "")
    settings = Settings.from_env(workers=3)
    assert settings.index_dir == Path("/srv/news")
    assert (settings.workers, settings.search_time_limit_s) == (3, 1.5)  # the flag wins
    assert settings.max_connections == 100 and settings.engine is None
    assert settings.keepalive_s == Settings.keepalive_s


def test_no_other_module_reads_a_search_variable() -> None:
    """``Settings`` reads each by its field's name for it; the pause hook of
    ``search.phases`` is a test's, not a setting of the service."""
    reads = re.compile(r"environ(?:\.get)?\(?\[?\s*[\"']SEARCH_")
    readers = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "search").rglob("*.py")
        if reads.search(path.read_text(encoding="utf-8"))
    }
    assert readers == {"search/phases.py"}

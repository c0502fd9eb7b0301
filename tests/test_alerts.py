"""The alerts kept by their covers (``search.alerts``): made once for many batches,
made again when what they depend on changes. Matching over a real service is in
``tests/http/test_alerts.py``."""

from __future__ import annotations

from pathlib import Path

from search.alerts import Alerts
from search.query.synonyms import parse


def test_covers_follow_each_alert_made_or_deleted_and_are_made_again_for_new_synonyms(
    tmp_path: Path,
) -> None:
    alerts, analyzed = Alerts(tmp_path), str.lower
    first = alerts.create({"q": "harbour"}, None, 0)
    synonyms = (1, parse([{"synonyms": ["harbour", "port"]}]))
    covers = alerts.covers(synonyms, analyzed, Alerts)
    assert [alert.id for alert, _ in covers.items()] == [first.id]
    assert [alert.id for alert, _ in covers.could_match({"port"})] == [first.id]
    assert alerts.covers(synonyms, analyzed, Alerts) is covers
    second = alerts.create({"q": "storm"}, None, 0)
    made = alerts.covers(synonyms, analyzed, Alerts)
    assert [alert.id for alert, _ in made.items()] == [first.id, second.id]
    alerts.delete(first.id)
    deleted = alerts.covers(synonyms, analyzed, Alerts)
    assert [alert.id for alert, _ in deleted.items()] == [second.id]
    assert alerts.covers((2, parse([])), analyzed, Alerts) is not deleted
    assert alerts.covers((2, parse([])), analyzed, int) is not deleted

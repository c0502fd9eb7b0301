"""The benchmark's bookkeeping: which engines run at which scale, and the closing table."""

from __future__ import annotations

from bench import against, engines_at, parse_wrk, side_by_side


def test_an_engine_runs_up_to_its_largest_scale() -> None:
    spec = "whoosh:16,xapian"
    assert engines_at(spec, 1) == ["whoosh", "xapian"]
    assert engines_at(spec, 16) == ["whoosh", "xapian"]
    assert engines_at(spec, 64) == ["xapian"]


def test_wrk_figures_are_read_in_milliseconds() -> None:
    output = """
  Latency Distribution
     50%  812.00us
     99%    1.20s
Requests/sec:   1234.50
"""
    assert parse_wrk(output) == {"p50": 0.812, "p99": 1200.0, "rps": 1234.5}


def _scale(articles: int, engines: dict[str, float]) -> dict:
    return {
        "articles": articles,
        "index": {name: {"seconds": 10.0, "peak_rss_mb": 300} for name in engines},
        "search_ms": {f"ours, 3 fragments [{name}]": {"p50": p50} for name, p50 in engines.items()},
        "http": {
            name: {"ceiling": {"rps": 1000.0}, "`/search`": {"rps": 250.0}} for name in engines
        },
    }


def test_the_closing_table_sets_engines_and_scales_side_by_side() -> None:
    table = side_by_side(
        {16: _scale(35600, {"whoosh": 8.0, "xapian": 2.0}), 64: _scale(142400, {"xapian": 3.0})}
    )
    rows = table.splitlines()[2:]
    assert rows[0].startswith("| 16x (35,600) | whoosh | 8.00 | 1.00 | - | 250 | 25% of 1000 ")
    assert rows[1].startswith("| 16x (35,600) | xapian | 2.00 | 0.25 | - |")
    # At 64x there is no Whoosh engine to compare with, but the scale before.
    assert rows[2].startswith("| 64x (142,400) | xapian | 3.00 | - | 1.50 |")


def test_the_baseline_table_sets_this_code_beside_the_older_on_the_same_index() -> None:
    result = _scale(2225, {"whoosh": 1.5, "xapian": 0.6})
    result["search_ms"]["ours, 3 fragments (abc123) [whoosh]"] = {"p50": 2.0}
    result["search_ms"]["ours, 3 fragments (abc123) [xapian]"] = {"p50": 0.6}
    rows = against({1: result}, "abc123").splitlines()
    assert rows[0] == "| scale | engine | search | p50 ms, this code | p50 ms, abc123 | ratio |"
    assert rows[2:] == [
        "| 1x | whoosh | 3 fragments | 1.50 | 2.00 | 0.75 |",
        "| 1x | xapian | 3 fragments | 0.60 | 0.60 | 1.00 |",
    ]


def test_the_push_bench_gives_each_article_a_word_of_its_own_and_reports_it() -> None:
    from bench_push import _word, render

    words = {_word(n) for n in range(0, 1_000_000, 997)}
    assert len(words) == len(range(0, 1_000_000, 997)) and all(w.isalpha() for w in words)
    figures = {
        "rate": 50.0, "seconds": 30.2, "acknowledged": 1500, "push_failures": 0,
        "never_searchable": 0, "to_searchable_ms": {"p50": 231.0, "p99": 771.0, "max": 1331.0},
        "searches": 6888, "failed_searches": 2, "failures_by_status": {"503": 2},
        "search_ms": {"p50": 9.4, "p99": 135.9}, "clients": 4,
    }  # fmt: skip
    line = render("xapian", figures)
    assert "p99 771 ms" in line and "2 failed {'503': 2}" in line


def test_the_ingest_table_sets_each_importer_beside_typesense() -> None:
    from bench_ingest import _typesense_record, render

    rows = {
        "ours, xapian": {"seconds": 60.0, "docs_per_s": 600.0, "size_mb": 640.0},
        "typesense": {"seconds": 8.0, "docs_per_s": 4500.0, "size_mb": 160.0},
    }
    table = render(36_000, rows).splitlines()
    assert table[4] == "| ours, xapian | 60.0 | 600 | 0.13 | 640 | 4.00 |"
    record = {"id": "a", "title": "T", "body": "B", "people": ["X"], "date": "2004-01-02"}
    assert _typesense_record(record)["date"] == 1073001600  # 2004-01-02T00:00:00Z


def test_the_live_benches_report_delays_from_each_article_on() -> None:
    from bench_push import delays_ms

    since = {"a": 10.0, "b": 10.5, "c": 11.0}
    until = {"a": 10.2, "b": 10.6}  # c never matched: left out
    figures = delays_ms(since, until)
    assert round(figures["max"]) == 200 and 100 <= figures["p50"] <= 200

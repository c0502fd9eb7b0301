"""The HTTP contract, over HTTP against a running gunicorn serving a real small index.

Two cases need a service configured differently (no index, a zero time limit); they
use falcon's TestClient around the same app factory.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from typing import Any

import pytest
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from search.config import Settings
from search.http.app import create_app
from search.http.openapi import SEARCH_PARAMETERS
from search.query.params import (
    EXPORT_PARAMETERS,
    PAGE_PARAMETERS,
    PARAMETERS,
    SUGGEST_PARAMETERS,
)
from search.service import SearchService
from search.stores.local import LocalStore
from tests.conftest import SAMPLE_A, SAMPLE_B, Server


def search(api: Server, **params: Any) -> dict[str, Any]:
    status, body = api.get("/search", params)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def error(
    api: Server | testing.TestClient, path: str, status: int, **params: Any
) -> dict[str, Any]:
    if isinstance(api, Server):
        got, body = api.get(path, params)
    else:
        result = api.simulate_get(path, params=params)
        assert result.headers["content-type"].startswith("application/json")
        got, body = result.status_code, result.json
    assert got == status, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=["one index", "shards"])
def client(request: pytest.FixtureRequest, engine: str) -> Server:
    """The real server (named ``client`` as the HTTP client of every test here): over
    one index of each engine, and over the Xapian engine's 2-shard cluster."""
    if request.param == "one index":
        return request.getfixturevalue("server")  # type: ignore[no-any-return]
    if engine != "xapian":
        pytest.skip(f"the {engine} engine is not sharded")
    return request.getfixturevalue("sharded_server")  # type: ignore[no-any-return]


def test_paris_declaration_finds_both_samples_with_marks(client: Server) -> None:
    body = search(client, q="Paris Declaration")
    assert {hit["id"] for hit in body["hits"]} == {SAMPLE_A, SAMPLE_B}
    assert set(body) == {
        "query",
        "total",
        "page",
        "per_page",
        "took_ms",
        "hits",
        "facets",
        "suggestion",
        "next_cursor",
    }
    for hit in body["hits"]:
        assert any(
            "<mark>Paris</mark> <mark>Declaration</mark>" in f for f in hit["highlights"]["body"]
        )
        assert len(hit["highlights"]["body"]) <= 3
        assert "Keir Starmer" in hit["people"]


def test_title_outranks_body(client: Server) -> None:
    hits = search(client, q="budget")["hits"]
    assert hits[0]["id"] == "wire-budget"


def test_script_in_article_comes_back_escaped(client: Server) -> None:
    hit = search(client, q="script")["hits"][0]
    assert hit["id"] == "wire-script"
    assert "<script>" not in hit["highlights"]["title"] + "".join(hit["highlights"]["body"])
    assert "&lt;<mark>script</mark>&gt;" in hit["highlights"]["title"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": '"paris declaration"'}, {SAMPLE_A, SAMPLE_B}),
        ({"q": "gottemoeller OR reeves"}, {SAMPLE_A, "wire-budget"}),
        ({"q": "paris NOT kushner"}, {"wire-election"}),
        ({"q": "paris -kushner"}, {"wire-election"}),
        ({"q": "title:budget"}, {"wire-budget", "bbc/politics/005"}),
        ({"q": "title:(budget OR election)"}, {"wire-budget", "bbc/politics/005", "wire-election"}),
        ({"q": "people:starmer"}, {SAMPLE_A, SAMPLE_B, "wire-budget"}),
        ({"q": "people:reeves"}, {"wire-budget"}),
        ({"q": "date:[2025-01-01 TO 2025-12-31]"}, {"wire-budget", "wire-script"}),
        ({"q": "date:[* TO 2025-12-31]"}, {"wire-budget", "wire-script", "wire-election"}),
        ({"q": "gottemoell*"}, {SAMPLE_A}),
        ({"q": "gotemoeller~"}, {SAMPLE_A}),
        (
            {"q": "paris", "people": "Emmanuel Macron", "from": "2024-01-01", "to": "2024-12-31"},
            {"wire-election"},
        ),
        ({"q": "paris", "people": ["Keir Starmer", "Rose Gottemoeller"]}, {SAMPLE_A}),
    ],
)
def test_query_language_and_filters(
    client: Server, params: dict[str, Any], expected: set[str]
) -> None:
    body = search(client, per_page=100, **params)
    assert {hit["id"] for hit in body["hits"]} == expected
    assert body["total"] == len(expected)


def test_excluded_words_alone_match_every_other_article(client: Server) -> None:
    everything = search(client, per_page=100)["total"]
    kushner = search(client, q="kushner", per_page=100)["total"]
    assert 0 < kushner < everything
    for q in ("-kushner", "NOT kushner", "(-kushner)"):
        assert search(client, q=q, per_page=100)["total"] == everything - kushner, q
    assert (
        search(client, q="+paris -kushner")["total"] == search(client, q="paris -kushner")["total"]
    )


def test_more_than_two_edits_are_two(client: Server) -> None:
    """As Lucene takes "~3": more edits would match most short words."""
    two, five = (search(client, q=f"gottemoler~{n}", per_page=100) for n in (2, 5))
    assert two["total"] == five["total"] > 0
    assert [hit["id"] for hit in two["hits"]] == [hit["id"] for hit in five["hits"]]


def test_empty_query_lists_everything_newest_first(client: Server) -> None:
    body = search(client, per_page=100)
    assert body["total"] == 17
    dates = [hit["date"] for hit in body["hits"] if hit["date"]]
    assert dates == sorted(dates, reverse=True) and dates[0] == "2026-01-06"


def test_sort_by_date_both_ways(client: Server) -> None:
    newest = [h["date"] for h in search(client, q="paris", sort="date")["hits"]]
    oldest = [h["date"] for h in search(client, q="paris", sort="-date")["hits"]]
    assert newest[0] == "2026-01-06" and oldest[0] in (None, "2024-11-05")
    assert all(h["score"] is None for h in search(client, q="paris", sort="date")["hits"])


def test_paging(client: Server) -> None:
    first = search(client, per_page=5, page=1)
    second = search(client, per_page=5, page=2)
    assert first["total"] == second["total"] == 17
    assert len(first["hits"]) == len(second["hits"]) == 5
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    assert len(search(client, per_page=5, page=4)["hits"]) == 2
    assert search(client, per_page=5, page=5)["hits"] == []


def walk(client: Server, **params: Any) -> tuple[int, list[str]]:
    """Every hit's id, page after page by ``next_cursor``; and the first page's total."""
    body = search(client, **params)
    total, ids = body["total"], [hit["id"] for hit in body["hits"]]
    while body["next_cursor"] is not None:
        body = search(client, **params, cursor=body["next_cursor"])
        assert body["hits"], "a next_cursor led to an empty page"
        ids += [hit["id"] for hit in body["hits"]]
    return total, ids


@pytest.mark.parametrize(
    "params",
    [{}, {"sort": "-date"}, {"q": "paris"}, {"q": "paris", "sort": "date"}, {"collapse": "true"}],
)
def test_a_cursor_walks_every_match_once_in_the_order_of_the_pages(
    client: Server, params: dict[str, str]
) -> None:
    total, ids = walk(client, per_page=2, **params)
    assert len(ids) == total and len(set(ids)) == total
    paged = search(client, per_page=100, **params)
    assert ids == [hit["id"] for hit in paged["hits"]]
    assert paged["next_cursor"] is None  # the last page says so


def test_a_cursor_belongs_to_its_search_and_replaces_the_page_number(client: Server) -> None:
    token = search(client, q="paris", per_page=1)["next_cursor"]
    assert token is not None
    other = error(client, "/search", 400, q="blair", per_page=1, cursor=token)
    assert other["code"] == "invalid_parameter" and "another search" in other["message"]
    paged = error(client, "/search", 400, q="paris", per_page=1, page=2, cursor=token)
    assert paged["code"] == "invalid_parameter" and paged["message"].startswith("page:")
    # Another page size is the same search: the walk goes on from the same hit.
    first = search(client, q="paris", per_page=1)["hits"][0]["id"]
    rest = search(client, q="paris", per_page=5, cursor=token)["hits"]
    assert first not in {hit["id"] for hit in rest}


def export(client: Server, **params: Any) -> tuple[str, list[dict[str, Any]]]:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{client.url}/export?{query}", timeout=30) as answer:
        return answer.headers["Content-Type"], [json.loads(line) for line in answer]


@pytest.mark.parametrize("params", [{}, {"q": "paris"}, {"q": "paris", "sort": "-date"}])
def test_export_streams_every_match_whole_in_the_search_s_order(
    client: Server, params: dict[str, str]
) -> None:
    content_type, lines = export(client, **params)
    paged = search(client, per_page=100, **params)
    assert content_type.startswith("application/x-ndjson")
    assert [line["id"] for line in lines] == [hit["id"] for hit in paged["hits"]]
    assert len(lines) == paged["total"]
    for line in lines[:3]:
        assert line == client.get(f"/documents/{line['id']}")[1]


def test_export_refuses_paging_and_bad_queries_with_json_errors(client: Server) -> None:
    for params, code in [({"page": "2"}, "invalid_parameter"), ({"q": '"open'}, "invalid_query")]:
        assert error(client, "/export", 400, **params)["code"] == code


def test_facets_count_all_matches(client: Server) -> None:
    facets = search(client, q="paris", per_page=1, facets="people,month,year")["facets"]
    people = {f["value"]: f["count"] for f in facets["people"]}
    assert people["Emmanuel Macron"] == 3 and people["Keir Starmer"] == 2
    assert {f["value"]: f["count"] for f in facets["month"]} == {"2026-01": 1, "2024-11": 1}
    assert {f["value"]: f["count"] for f in facets["year"]} == {"2026": 1, "2024": 1}


def test_collapse_folds_the_two_scrapes(client: Server) -> None:
    plain = search(client, q="Paris Declaration")
    folded = search(client, q="Paris Declaration", collapse="true")
    assert plain["total"] == 2 and folded["total"] == 1
    (hit,) = folded["hits"]
    assert hit["duplicates"] == [({SAMPLE_A, SAMPLE_B} - {hit["id"]}).pop()]
    assert "duplicates" not in plain["hits"][0]


def test_words_joined_by_or_are_the_same_bag_of_words_as_match_any(client: Server) -> None:
    plain = search(client, q="paris declaration summit summit", match="any", per_page=50)
    joined = search(client, q="paris OR declaration OR summit OR summit", per_page=50)
    assert plain["total"] == joined["total"] > 0
    assert [h["id"] for h in plain["hits"]] == [h["id"] for h in joined["hits"]]


def test_feedback_in_match_any_ranks_but_matches_nothing_more(client: Server) -> None:
    """Feedback terms add to scores; ``total`` still counts articles with the words."""
    for word in ("paris", "declaration"):
        assert search(client, q=word, match="any")["total"] == search(client, q=word)["total"]


def test_suggestion_for_unknown_words(client: Server) -> None:
    assert search(client, q="Kushnr")["suggestion"] == "kushner"
    assert search(client, q="Kushner")["suggestion"] is None


def test_documents_and_similar(client: Server) -> None:
    document = client.get(f"/documents/{SAMPLE_B}")[1]
    assert set(document) == {"id", "title", "date", "people", "body", "url", "source"}
    assert document["date"] == "2026-01-06"
    similar = client.get(f"/documents/{SAMPLE_A}/similar")[1]
    ids = [hit["id"] for hit in similar["hits"]]
    assert ids[0] == SAMPLE_B and SAMPLE_A not in ids and len(ids) <= 10
    nested = client.get("/documents/bbc/politics/001")[1]
    assert nested["id"] == "bbc/politics/001"
    assert error(client, "/documents/nope/similar", 404)["code"] == "not_found"


def test_operational_endpoints(client: Server, engine: str) -> None:
    assert client.get("/health") == (200, {"status": "ok"})
    status, ready = client.get("/ready")
    assert status == 200 and ready["status"] == "ready"
    stats = client.get("/stats")[1]
    assert ready.get("shards") == stats.get("shards")
    assert stats["documents"] == 17 and stats["engine"] == engine and stats["commit"] >= 1
    if "shards" in stats:
        # On other machines: the state of each replica instead of a size on disk.
        assert stats["generation"] == "shards" and stats["size_bytes"] is None
        states = [[r["state"] for r in shard["replicas"]] for shard in stats["shards"]]
        assert states == [["serving", "standby"], ["serving", "standby"]]
    else:
        assert stats["generation"].startswith("gen-") and stats["size_bytes"] > 0


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/search", {"page": "0"}, 400, "invalid_parameter"),
        ("/search", {"per_page": "500"}, 400, "invalid_parameter"),
        ("/search", {"from": "2026-13-01"}, 400, "invalid_parameter"),
        ("/search", {"pgae": "2"}, 400, "invalid_parameter"),
        ("/search", {"recency": "soon"}, 400, "invalid_parameter"),
        ("/search", {"cursor": "not-a-cursor"}, 400, "invalid_parameter"),
        ("/search", {"q": '"open'}, 400, "invalid_query"),
        ("/search", {"q": "date:[2026 TO x]"}, 400, "invalid_query"),
        ("/documents/missing", {}, 404, "not_found"),
        ("/no/such/route", {}, 404, "not_found"),
    ],
)
def test_errors_are_json(
    client: Server, path: str, params: dict[str, str], status: int, code: str
) -> None:
    body = error(client, path, status, **params)
    assert body["code"] == code and body["message"]


def test_not_ready_without_an_index(tmp_path: Any) -> None:
    client = testing.TestClient(create_app(Settings(index_dir=tmp_path / "none")))
    assert error(client, "/ready", 503)["code"] == "index_unavailable"
    assert error(client, "/search", 503, q="x")["code"] == "index_unavailable"


def test_search_past_its_time_limit_is_stopped(index_dir: Any) -> None:
    service = SearchService(LocalStore(index_dir), time_limit_s=0.0)
    client = testing.TestClient(create_app(Settings(index_dir=index_dir), service))
    assert error(client, "/search", 503, q="paris")["code"] == "search_timeout"
    service.close()


def test_openapi_document_is_valid_and_matches_the_code(client: Server) -> None:
    document = client.get("/openapi.json")[1]
    validate(document)
    assert [p["name"] for p in SEARCH_PARAMETERS] == list(PARAMETERS)
    documented = [p["name"] for p in document["paths"]["/search"]["get"]["parameters"]]
    assert documented == list(PARAMETERS)
    routes = {
        "/search",
        "/suggest",
        "/export",
        "/documents",
        "/documents/{id}",
        "/documents/{id}/similar",
        "/keys",
        "/keys/{id}",
        "/alerts",
        "/alerts/{id}",
        "/alerts/{id}/matches",
        "/synonyms",
        "/health",
        "/ready",
        "/stats",
        "/openapi.json",
        "/",
        "/metrics",
    }
    assert set(document["paths"]) == routes
    page = [p["name"] for p in document["paths"]["/"]["get"]["parameters"]]
    assert page == list(PAGE_PARAMETERS)
    suggest = [p["name"] for p in document["paths"]["/suggest"]["get"]["parameters"]]
    assert suggest == list(SUGGEST_PARAMETERS)
    exported = [p["name"] for p in document["paths"]["/export"]["get"]["parameters"]]
    assert exported == list(EXPORT_PARAMETERS)


class BrokenService(SearchService):
    """A service whose searches fail the way a bug would."""

    def search(self, request: Any) -> Any:
        raise RuntimeError("secret detail of a bug")


def test_unexpected_errors_are_logged_once_and_never_sent(
    index_dir: Any, caplog: pytest.LogCaptureFixture
) -> None:
    service = BrokenService(LocalStore(index_dir))
    client = testing.TestClient(create_app(Settings(index_dir=index_dir), service))
    with caplog.at_level("ERROR", logger="search.http.app"):
        result = client.simulate_get(
            "/search", params={"q": "paris"}, headers={"X-Request-ID": "r-42"}
        )
    assert result.status_code == 500
    assert result.json == {
        "error": {
            "code": "internal_error",
            "message": "the server failed to answer; it has been logged",
        }
    }
    assert "secret" not in result.text and "Traceback" not in result.text
    (record,) = [r for r in caplog.records if r.name == "search.http.app"]
    assert "r-42" in record.getMessage() and record.exc_info is not None
    assert "secret detail of a bug" in caplog.text
    service.close()


TEXT = st.characters(exclude_categories=("Cs",))  # HTTP clients cannot send lone surrogates
STRANGE = st.one_of(
    st.text(TEXT, max_size=60),
    st.text(alphabet='"()[]*~-+:^ ANDORNTtitle:bodypeopledate:', max_size=40),
    st.sampled_from(["*", "AND", "OR", "NOT", "-", '"', "(", "[", "date:[", "title:", "x" * 5000,
                     "🙂 emoji", "nul\x00byte", "*ing", "?", "date:[* TO *]"]),
)  # fmt: skip
SAFE = re.compile(r"^(?:[^<>&]|&(?:amp|lt|gt|quot|#x27);|</?mark>)*$")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=STRANGE)
def test_any_query_gets_200_or_a_4xx_json_error(client: Server, q: str) -> None:
    status, body = client.get("/search", {"q": q})
    assert status == 200 or 400 <= status < 500, (q, body)
    if status != 200:
        assert body["error"]["code"] in ("invalid_query", "invalid_parameter")
        return
    for hit in body["hits"]:
        for fragment in [hit["highlights"]["title"], *hit["highlights"]["body"]]:
            assert SAFE.match(fragment)


def test_recency_adds_a_recency_part_to_the_newest_articles(client: Server) -> None:
    plain = search(client, q="Paris", per_page=20)
    recent = search(client, q="Paris", per_page=20, recency="30d")
    assert recent["total"] == plain["total"]
    before = {hit["id"]: hit for hit in plain["hits"]}
    after = {hit["id"]: hit for hit in recent["hits"]}
    assert set(after) == set(before)
    newest = max((hit for hit in plain["hits"] if hit["date"]), key=lambda hit: hit["date"])
    assert after[newest["id"]]["score"] > newest["score"]
    assert all(after[i]["score"] >= before[i]["score"] for i in after)
    assert recent["hits"][0]["id"] == newest["id"]


def test_suggest_completes_people_and_title_words(client: Server) -> None:
    status, body = client.get("/suggest", {"q": "prime kei", "limit": "5"})
    assert status == 200, body
    assert body["query"] == "prime kei"
    assert {"text": "Keir Starmer", "kind": "person"} in [
        {"text": s["text"], "kind": s["kind"]} for s in body["suggestions"]
    ]
    assert len(body["suggestions"]) <= 5
    assert client.get("/suggest", {"q": "kei "})[1]["suggestions"] == []
    for params, name in [
        ({"q": "kei", "limit": "0"}, "limit"),
        ({"q": "kei", "page": "2"}, "page"),
    ]:
        assert name in error(client, "/suggest", 400, **params)["message"]

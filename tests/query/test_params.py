"""Request parameters in, a validated ``SearchRequest`` out."""

from __future__ import annotations

from typing import Any

import pytest

from search.errors import InvalidParameter
from search.model import SearchRequest
from search.query.params import parse_request

REQUESTS = [
    ({}, SearchRequest()),
    ({"q": "a\x00b", "page": "2", "per_page": "100"}, SearchRequest(q="a b", page=2, per_page=100)),
    ({"people": ["Keir Starmer", "Emmanuel Macron"]}, SearchRequest(people=("Keir Starmer", "Emmanuel Macron"))),
    ({"from": "2026-01-01", "to": "2026-01-31", "sort": "-date"}, SearchRequest(date_from="2026-01-01", date_to="2026-01-31", sort="-date")),
    ({"facets": "people,month", "collapse": "true"}, SearchRequest(facets=("people", "month"), collapse=True)),
    ({"match": "any"}, SearchRequest(match="any", expand=True)),
    ({"recency": "30d"}, SearchRequest(recency_days=30.0)),
    ({"recency": "2w"}, SearchRequest(recency_days=14.0)),
    ({"recency": "1y"}, SearchRequest(recency_days=365.25)),
]  # fmt: skip


@pytest.mark.parametrize(("params", "expected"), REQUESTS)
def test_parse_request(params: dict[str, Any], expected: SearchRequest) -> None:
    assert parse_request(params) == expected


BAD_PARAMETERS = [
    ({"page": "0"}, "page"),
    ({"page": "two"}, "page"),
    ({"per_page": "101"}, "per_page"),
    ({"per_page": "-1"}, "per_page"),
    ({"from": "2026-02-30"}, "from"),
    ({"to": "01/02/2026"}, "to"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
    ({"sort": "oldest"}, "sort"),
    ({"facets": "people,colour"}, "facets"),
    ({"collapse": "maybe"}, "collapse"),
    ({"q": "x" * 5000}, "q"),
    ({"q": ["a", "b"]}, "q"),
    ({"match": "some"}, "match"),
    ({"recency": "30"}, "recency"),
    ({"recency": "0d"}, "recency"),
    ({"recency": "-3d"}, "recency"),
    ({"recency": "1.5d"}, "recency"),
    ({"recency": "30 days"}, "recency"),
    ({"recency": "30D"}, "recency"),
    ({"recency": "10000y"}, "recency"),
    ({"recency": "30d", "sort": "date"}, "recency"),
]


@pytest.mark.parametrize(("params", "name"), BAD_PARAMETERS)
def test_bad_parameters_are_named(params: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        parse_request(params)
    assert error.value.parameter == name

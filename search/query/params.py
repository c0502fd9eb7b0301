"""The ``/search`` parameters, engine-neutral.

``parse_request`` validates every parameter and names the bad one; ``q`` itself is
read by ``search.query.language`` alone, the one parser of the query language."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from search import cursors
from search.completions import MAX_LIMIT as MAX_SUGGESTIONS
from search.errors import InvalidParameter
from search.model import SearchRequest
from search.query.language import is_iso_date, is_or_of_words

MAX_Q_CHARS = 4000
MAX_PER_PAGE = 100
MAX_PAGE = 1000
SORTS = ("relevance", "date", "-date")
MATCHES = ("all", "any")
FACETS = ("people", "month", "year")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PARAMETERS = (
    "q", "people", "from", "to", "sort", "page", "per_page", "facets", "collapse", "match",
    "recency", "cursor",
)  # fmt: skip
HALF_LIFE = re.compile(r"^([1-9][0-9]{0,3})([dwmy])$")
UNIT_DAYS = {"d": 1.0, "w": 7.0, "m": 365.25 / 12, "y": 365.25}
# An export is every match, so it has no page.
EXPORT_PARAMETERS = tuple(p for p in PARAMETERS if p not in ("page", "per_page", "cursor"))
# The search page sets its own page size and facets, and pages by number.
PAGE_PARAMETERS = tuple(p for p in PARAMETERS if p not in ("per_page", "facets", "cursor"))


def parse_request(params: Mapping[str, str | Sequence[str]]) -> SearchRequest:
    """Validate query-string parameters into a ``SearchRequest``.

    Raises:
        InvalidParameter: naming the first parameter that is malformed or out of range.
    """
    q = _single(params, "q") or ""
    if len(q) > MAX_Q_CHARS:
        raise InvalidParameter("q", f"at most {MAX_Q_CHARS} characters")
    date_from = _date_param(params, "from")
    date_to = _date_param(params, "to")
    if date_from and date_to and date_from > date_to:
        raise InvalidParameter("from", "must not be after 'to'")
    sort = _single(params, "sort") or "relevance"
    if sort not in SORTS:
        raise InvalidParameter("sort", f"one of {', '.join(SORTS)}")
    match = _single(params, "match") or "all"
    if match not in MATCHES:
        raise InvalidParameter("match", f"one of {', '.join(MATCHES)}")
    if is_or_of_words(q):
        match = "any"
    facets = tuple(
        name.strip()
        for value in param_values(params, "facets")
        for name in value.split(",")
        if name.strip()
    )
    for name in facets:
        if name not in FACETS:
            raise InvalidParameter("facets", f"unknown facet {name!r}; use {', '.join(FACETS)}")
    people = tuple(p.strip() for p in param_values(params, "people") if p.strip())
    recency = _half_life_param(params, "recency")
    if recency is not None and sort != "relevance":
        raise InvalidParameter("recency", "applies to sort=relevance only")
    cursor = _single(params, "cursor")
    if cursor is not None:
        if "page" in params:
            raise InvalidParameter("page", "not with cursor, which says where the page starts")
        cursors.decode(cursor)
    return SearchRequest(
        q=CONTROL.sub(" ", q).strip(),
        people=people,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=int_param(params, "page", 1, 1, MAX_PAGE),
        per_page=int_param(params, "per_page", 10, 1, MAX_PER_PAGE),
        facets=tuple(dict.fromkeys(facets)),
        collapse=bool_param(params, "collapse"),
        match=match,
        # Questions and pasted paragraphs name a topic in other words than the
        # articles about it: bag-of-words searches get pseudo-relevance feedback
        # (measured in the docs/relevance.md).
        expand=match == "any",
        recency_days=recency,
        cursor=cursor,
    )


SUGGEST_PARAMETERS = ("q", "limit")
SUGGEST_LIMIT = 8


def parse_suggest(params: Mapping[str, str | Sequence[str]]) -> tuple[str, int]:
    """``/suggest``'s text typed so far and how many completions to give.

    Raises:
        InvalidParameter: naming the first parameter that is malformed or out of range.
    """
    check_known(params, SUGGEST_PARAMETERS)
    q = _single(params, "q") or ""
    if len(q) > MAX_Q_CHARS:
        raise InvalidParameter("q", f"at most {MAX_Q_CHARS} characters")
    return CONTROL.sub(" ", q), int_param(params, "limit", SUGGEST_LIMIT, 1, MAX_SUGGESTIONS)


def check_known(params: Mapping[str, object], allowed: Sequence[str] = PARAMETERS) -> None:
    """Reject a parameter that is not ``allowed``, so a typo like ``pgae=2`` is not
    silently ignored.

    Raises:
        InvalidParameter: naming the first unknown parameter.
    """
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; use {', '.join(allowed)}")


def param_values(params: Mapping[str, str | Sequence[str]], name: str) -> list[str]:
    """Every value given for ``name`` (a repeated parameter comes as a list)."""
    value = params.get(name)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _single(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    values = param_values(params, name)
    if len(values) > 1:
        raise InvalidParameter(name, "give it once")
    return values[0] if values else None


def int_param(
    params: Mapping[str, str | Sequence[str]], name: str, default: int, low: int, high: int
) -> int:
    raw = _single(params, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, f"must be a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise InvalidParameter(name, f"must be between {low} and {high}")
    return value


def bool_param(params: Mapping[str, str | Sequence[str]], name: str) -> bool:
    """A ``true``/``false`` (or ``1``/``0``) parameter, false when absent.

    Raises:
        InvalidParameter: another value.
    """
    raw = (_single(params, name) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise InvalidParameter(name, "must be true or false")
    return raw in ("true", "1")


def _date_param(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    raw = _single(params, name)
    if not raw:
        return None
    if not is_iso_date(raw):
        raise InvalidParameter(name, f"must be a date YYYY-MM-DD, got {raw[:40]!r}")
    return raw


def _half_life_param(params: Mapping[str, str | Sequence[str]], name: str) -> float | None:
    """A half-life such as ``30d``, ``2w``, ``6m`` or ``1y``, in days."""
    raw = _single(params, name)
    if not raw:
        return None
    found = HALF_LIFE.fullmatch(raw)
    if found is None:
        raise InvalidParameter(name, f"a half-life such as 30d, 2w, 6m or 1y, got {raw[:40]!r}")
    return int(found[1]) * UNIT_DAYS[found[2]]

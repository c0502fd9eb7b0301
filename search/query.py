"""The ``/search`` parameters and the ``q`` language, engine-neutral.

``parse_request`` validates every parameter and names the bad one. ``q`` has the
syntax of the contract, which every engine gives the same meaning:

========================  =====================================================
``brexit vote``           all words must match, best first (``match="any"``: any
                          may; the text is then plain words, no syntax)
``"exact phrase"``        phrase
``a OR b``, ``NOT a``     boolean operators; ``-a`` excludes, ``+a`` requires
``title:``/``body:``      field restriction; also ``people:`` and ``date:``
``pref*``, ``word~``      prefix/wildcard and fuzzy (edit distance 1, ``~2`` for 2)
``date:[A TO B]``         inclusive date range, ISO dates
========================  =====================================================

Input that cannot be understood (unbalanced quotes or brackets, a malformed date)
raises ``InvalidQuery`` with a hint."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from search import stop_words
from search.documents import TOKEN_PATTERN, fold_case
from search.errors import InvalidParameter, InvalidQuery

MAX_Q_CHARS = 4000
MAX_PER_PAGE = 100
MAX_PAGE = 1000
SORTS = ("relevance", "date", "-date")
MATCHES = ("all", "any")
FACETS = ("people", "month", "year")
TEXT_FIELDS = ("title", "body", "people")
QUERY_FIELDS = (*TEXT_FIELDS, "date")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PLAIN_WORD = re.compile(r"\w+(?:['’]\w+)*")
# From this many words on, a bag of words is a question or a paragraph, not a
# headline search, and loses its stop words (README, "Relevance").
LONG_QUESTION_WORDS = 5
PARAMETERS = (
    "q", "people", "from", "to", "sort", "page", "per_page", "facets", "collapse", "match",
)  # fmt: skip
# The search page sets its own page size and facets.
PAGE_PARAMETERS = tuple(p for p in PARAMETERS if p not in ("per_page", "facets"))


@dataclass(frozen=True)
class SearchRequest:
    """A validated search: what ``/search`` accepts, engine-neutral."""

    q: str = ""
    people: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    facets: tuple[str, ...] = ()
    collapse: bool = False
    match: str = "all"
    highlight: bool = True
    suggest: bool = True
    expand: bool = False


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
    return SearchRequest(
        q=CONTROL.sub(" ", q).strip(),
        people=people,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=_int_param(params, "page", 1, 1, MAX_PAGE),
        per_page=_int_param(params, "per_page", 10, 1, MAX_PER_PAGE),
        facets=tuple(dict.fromkeys(facets)),
        collapse=_bool_param(params, "collapse"),
        match=match,
        # Questions and pasted paragraphs name a topic in other words than the
        # articles about it: bag-of-words searches get pseudo-relevance feedback
        # (measured in the README, "Relevance").
        expand=match == "any",
    )


def date_order(request: SearchRequest, everything: bool) -> bool | None:
    """How results are ordered, for every engine: True newest first, False oldest
    first, None by relevance. ``everything`` (an empty query) has no relevance, so
    it lists the newest first."""
    if request.sort == "date" or (request.sort == "relevance" and everything):
        return True
    if request.sort == "-date":
        return False
    return None


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


def _int_param(
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


def _bool_param(params: Mapping[str, str | Sequence[str]], name: str) -> bool:
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


def is_iso_date(text: str) -> bool:
    if not DATE_RE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_balanced(q: str) -> None:
    """Raises:
    InvalidQuery: a quote, bracket or parenthesis is left open or closed twice.
    """
    if q.count('"') % 2:
        raise InvalidQuery('unbalanced double quote: close the phrase with another "')
    for opening, closing in (("(", ")"), ("[", "]")):
        depth = 0
        for ch in q:
            depth += (ch == opening) - (ch == closing)
            if depth < 0:
                break
        if depth:
            raise InvalidQuery(f"unbalanced {opening}{closing}: every {opening} needs a {closing}")


def is_or_of_words(q: str) -> bool:
    """``a OR b OR c``: plain words joined by OR, which matches what ``match="any"``
    matches, and so is ranked as the same bag of words."""
    tokens = q.split()
    return (
        len(tokens) >= 3
        and len(tokens) % 2 == 1
        and all(token == "OR" for token in tokens[1::2])
        and all(PLAIN_WORD.fullmatch(token) for token in tokens[::2])
    )


def bag_of_words(q: str) -> list[str]:
    """The words of a ``match="any"`` text, lower-cased, none of them syntax.

    A repeated word stays repeated: a question that names a thing twice is more
    about it (measured on CACM). The operator ``OR`` is not a word (``a OR b`` is
    this same bag). In a long question, English stop words go ("what articles
    deal with ..."), and so do words of one letter or digit (the "x" and "2" of a
    formula: CACM 0.503 -> 0.515 nDCG@10 on the Xapian engine; the Whoosh engine's
    analysis drops them everywhere); a short news query keeps every word ("the who").
    """
    words = [fold_case(word) for word in PLAIN_WORD.findall(q) if word != "OR"]
    if len(words) < LONG_QUESTION_WORDS:
        return words
    stop = stop_words.english()
    return [word for word in words if word not in stop and len(word) > 1]


# A word as the index takes it, "O'Driscoll" whole (not "Driscoll", a word no
# article has, which sent suggestions through the whole vocabulary), outside
# wildcards and fuzzy marks; of letters only, so numbers get no suggestion.
_TYPED_WORD = re.compile(rf"(?<![\w*~.'’]){TOKEN_PATTERN}(?![\w*~])")
_LETTERS = re.compile(r"[^\W\d_]+(?:[.'’][^\W\d_]+)*")


def query_words(q: str) -> list[str]:
    """The plain words a person typed (no operators, fields or syntax), for suggestions."""
    stripped = re.sub(r"\b(?:" + "|".join(QUERY_FIELDS) + r"):", " ", q)
    stripped = re.sub(r"\[[^\]]*\]", " ", stripped)
    words = (match.group() for match in _TYPED_WORD.finditer(stripped))
    return [
        word
        for word in words
        if len(word) >= 3 and _LETTERS.fullmatch(word) and word not in ("AND", "OR", "NOT", "TO")
    ]

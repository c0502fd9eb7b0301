"""Cursor paging: walking every match of a search, page after page, past the
1,000 pages that ``page`` reaches, while articles are added.

A cursor is an opaque token holding the last hit's sort key (its score, or its
date, then its id) and how many hits came before it. The next page starts right
after that hit wherever it now stands: an article pushed meanwhile moves the
hits behind it, so the position is only where to start looking, and the key
says which way to look. Date orders are total orders of (date, id) on every
engine, so a walk in date order sees every article that was there when it began
exactly once, however many are added; in relevance order new articles change
the collection's statistics, and with them the scores, so there the guarantee
holds while the index is unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

from search.errors import InvalidParameter
from search.model import Match, Matches, SearchRequest

# Hits looked at on each side of where the last page ended, and most, while
# looking for where the next page starts.
SLACK = 50
MAX_WINDOW = 5000
# Windows looked at before taking the nearest place the keys say (they can only
# disagree with the order in relevance order, while scores change).
LOOKS = 12

Fetch = Callable[[int, int], Matches]


@dataclass(frozen=True)
class Cursor:
    """Where a walk stands: after ``position`` hits, the last with ``key``
    (``score`` or date, ``""`` for an undated article) and ``last_id``."""

    search: str
    position: int
    last_id: str
    key: float | str | None


def fingerprint(request: SearchRequest) -> str:
    """What a cursor belongs to: the search's matches and order (not its page)."""
    kept = replace(request, page=1, per_page=1, facets=(), highlight=True, cursor=None)
    return hashlib.sha256(repr(kept).encode()).hexdigest()[:16]


def encode(cursor: Cursor) -> str:
    text = json.dumps(asdict(cursor), separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(token: str) -> Cursor:
    """The cursor of a previous response's ``next_cursor``.

    Raises:
        InvalidParameter: it is not one.
    """
    try:
        fields_ = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor = Cursor(**{f.name: fields_[f.name] for f in fields(Cursor)})
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise InvalidParameter("cursor", "not a next_cursor this service gave") from exc
    valid_key = cursor.key is None or isinstance(cursor.key, (int, float, str))
    if not (isinstance(cursor.position, int) and cursor.position > 0 and valid_key):
        raise InvalidParameter("cursor", "not a next_cursor this service gave")
    return cursor


def after(
    request: SearchRequest, cursor: Cursor, newest_first: bool | None, fetch: Fetch
) -> tuple[Matches, int]:
    """The page of hits that follows the cursor's, and its offset: ``fetch(offset,
    limit)`` is a window of the search's hits, in the order ``newest_first`` says
    (``EngineQuery``).

    Raises:
        InvalidParameter: the cursor belongs to another search.
    """
    if cursor.search != fingerprint(request):
        raise InvalidParameter("cursor", "belongs to another search; start again without it")
    order = _sort_key(newest_first)
    last = order(cursor.key, cursor.last_id)
    size, start = SLACK, max(0, cursor.position - SLACK)
    for _ in range(LOOKS):
        window = fetch(start, size + SLACK + request.per_page)
        ids = [match.article.id for match in window.hits]
        if cursor.last_id in ids:  # the next page follows it
            return _page(window, start, start + ids.index(cursor.last_id) + 1, request, fetch)
        keys = [order(_key_of(match, newest_first), match.article.id) for match in window.hits]
        size = min(size * 2, MAX_WINDOW)
        if start > 0 and (not keys or keys[0] > last):  # it moved down: look before
            start = max(0, min(start, window.total) - size)
        elif keys and keys[-1] <= last and start + len(keys) < window.total:  # moved up
            start += len(keys)
        else:
            break
    first = next((n for n, key in enumerate(keys) if key > last), len(keys))
    return _page(window, start, start + first, request, fetch)


def next_cursor(
    request: SearchRequest, newest_first: bool | None, end: int, page: list[Match], total: int
) -> str | None:
    """The token for the page after ``page`` (which ends ``end`` hits in), None
    when it was the last."""
    if not page or end >= total:
        return None
    last = page[-1]
    key = _key_of(last, newest_first)
    return encode(Cursor(fingerprint(request), end, last.article.id, key))


def _page(
    window: Matches, start: int, offset: int, request: SearchRequest, fetch: Fetch
) -> tuple[Matches, int]:
    """The page at ``offset``, from ``window`` (which starts at ``start``) when it
    holds all of it."""
    hits = window.hits[offset - start : offset - start + request.per_page]
    if len(hits) < request.per_page and start + len(window.hits) < window.total:
        window = fetch(offset, request.per_page)
        hits = window.hits
    return replace(window, hits=hits), offset


def _key_of(match: Match, newest_first: bool | None) -> float | str | None:
    return match.score if newest_first is None else match.article.date or ""


def _sort_key(newest_first: bool | None) -> Callable[[float | str | None, str], tuple[object, ...]]:
    """A key that grows along the search's order, as the engines order hits: by
    score (highest first) then id; by date then id, newest or oldest first."""
    if newest_first is None:
        return lambda score, doc_id: (-float(score or 0.0), doc_id)
    if not newest_first:
        return lambda date, doc_id: (f"{date or ''} {doc_id}",)
    return lambda date, doc_id: (_descending(f"{date or ''} {doc_id}"),)


def _descending(text: str) -> tuple[int, ...]:
    """A key that sorts ``text``s in reverse."""
    return (*(-ord(c) for c in text), 1)

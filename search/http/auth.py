"""Which requests need a key, and of which scope (``search.keys``).

A resource names the scope each of its writing methods needs (``scopes``); its
reads (``GET``, ``HEAD``) need a ``search`` key only when ``SEARCH_REQUIRE_KEY`` is
on, and a ``public`` resource (``/health``, ``/ready``) never needs one. A CORS
preflight (``OPTIONS``) carries no credentials and is answered without one. The
key is never logged: gunicorn's access log format has no ``Authorization``, and
errors name the scope, never the key.
"""

from __future__ import annotations

from typing import Any

import falcon

from search.errors import Unauthorized
from search.keys import Keys

READS = frozenset({"GET", "HEAD"})


class KeyMiddleware:
    def __init__(self, keys: Keys, require_for_reads: bool) -> None:
        self.keys = keys
        self.require_for_reads = require_for_reads

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        scope = self._needed(req.method, resource)
        if scope is not None:
            req.context.key = self.keys.check(_bearer(req), scope)

    def _needed(self, method: str, resource: Any) -> str | None:
        """The scope a request needs, or None when it is open."""
        if resource is None or method == "OPTIONS" or getattr(resource, "public", False):
            return None
        scope: str | None = getattr(resource, "scopes", {}).get(method)
        if scope is None and method in READS and self.require_for_reads:
            return "search"
        return scope


def _bearer(req: falcon.Request) -> str | None:
    """The key of ``Authorization: Bearer <key>``; None when there is none.

    Raises:
        Unauthorized: another kind of credentials.
    """
    header = req.get_header("Authorization")
    if header is None:
        return None
    kind, _, key = header.strip().partition(" ")
    if kind.lower() != "bearer" or not key.strip():
        raise Unauthorized("use Authorization: Bearer <key>")
    return key.strip()

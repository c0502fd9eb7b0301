"""Response headers that browsers and caches act on: CORS, security, validators.

Browser apps on other origins may call the API when ``SEARCH_CORS_ORIGINS`` lists
them (falcon's own CORS middleware answers preflights; credentials are never
allowed, so no origin list is ever a wildcard with credentials). Every answer says
``nosniff``; the page also sends a Content-Security-Policy that allows nothing but
its own inline style and script (by hash) and calls to its own origin, and forbids
framing. Searches and
documents carry a weak ``ETag`` made of the served index's version and the request,
so a client's ``If-None-Match`` gets a 304 without a search while nothing changed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import falcon

NOSNIFF = ("X-Content-Type-Options", "nosniff")
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# What a browser app may read of an answer, beyond the CORS-safelisted headers.
EXPOSED = ("ETag", "X-Request-ID")


def page_policy(style_hash: str, script_hash: str) -> str:
    """The page's Content-Security-Policy: its one inline style and its one inline
    script, which may only call this origin; forms to itself."""
    return (
        f"default-src 'none'; style-src '{style_hash}'; script-src '{script_hash}'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    """``nosniff`` on every answer; the page's policy on HTML answers."""

    def __init__(self, style_hash: str, script_hash: str) -> None:
        policy = page_policy(style_hash, script_hash)
        self.page = {"Content-Security-Policy": policy, **PAGE_HEADERS}

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        resp.set_header(*NOSNIFF)
        if (resp.content_type or "").startswith(falcon.MEDIA_HTML):
            resp.set_headers(self.page)


class ListedOriginsCORS(falcon.CORSMiddleware):
    """Falcon's CORS for a list of origins, telling caches that an answer depends on
    the ``Origin`` asking (one origin's headers must not be served to another)."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        super().process_response(req, resp, resource, req_succeeded)
        resp.append_header("Vary", "Origin")


def cors_middleware(origins: str | None) -> falcon.CORSMiddleware | None:
    """Falcon's CORS policy for ``SEARCH_CORS_ORIGINS`` (a comma list, or ``*``); None
    when unset, so no cross-origin caller can read an answer."""
    if not origins or not origins.strip():
        return None
    listed = [origin.strip() for origin in origins.split(",") if origin.strip()]
    if listed == ["*"]:
        return falcon.CORSMiddleware(allow_origins="*", expose_headers=EXPOSED)
    return ListedOriginsCORS(allow_origins=listed, expose_headers=EXPOSED)


def not_modified(req: falcon.Request, resp: falcon.Response, version: str) -> bool:
    """Give the answer its ETag (the index's ``version`` and the request); True, with
    a 304 set, when the client's copy is current and nothing needs to be searched."""
    digest = hashlib.blake2b(f"{version}\n{req.relative_uri}".encode(), digest_size=12).hexdigest()
    resp.set_header("ETag", f'W/"{digest}"')
    wanted = req.if_none_match or []
    if any(tag == "*" or tag == digest for tag in wanted):
        resp.status = falcon.HTTP_304
        return True
    return False

"""Falcon resources: parse the request, call the search service, shape JSON.

They know nothing of Whoosh; every error they raise is a ``SearchServiceError``
that ``app.py`` turns into the contract's JSON error body.
"""

from __future__ import annotations

from typing import Any

import falcon

from search import openapi
from search.errors import IndexUnavailable, InvalidParameter
from search.query import PARAMETERS, parse_request
from search.searcher import SearchService


class SearchResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        unknown = sorted(set(req.params) - set(PARAMETERS))
        if unknown:
            raise InvalidParameter(unknown[0], f"unknown parameter; use {', '.join(PARAMETERS)}")
        resp.media = self.service.search(parse_request(req.params)).as_dict()


class DocumentResource:
    """``/documents/{id}`` and ``/documents/{id}/similar``; ids may contain slashes."""

    SIMILAR = "/similar"

    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        if doc_id.endswith(self.SIMILAR):
            resp.media = self.service.similar(doc_id.removesuffix(self.SIMILAR)).as_dict()
        else:
            resp.media = self.service.document(doc_id).public()


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class ReadyResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.service.ready():
            raise IndexUnavailable("no index is open yet: run search-reindex")
        resp.media = {"status": "ready"}


class StatsResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.service.stats()


class OpenAPIResource:
    def __init__(self) -> None:
        self.document: dict[str, Any] = openapi.document()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document

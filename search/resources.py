"""Falcon resources: parse the request, call the search service, shape JSON.

They know nothing of Whoosh; every error they raise is a ``SearchServiceError``
that ``app.py`` turns into the contract's JSON error body.
"""

from __future__ import annotations

from typing import Any

import falcon

from search import openapi
from search.errors import InvalidParameter, ServiceUnavailable
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
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        resp.media = self.service.document(doc_id).public()

    def on_get_similar(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        resp.media = self.service.similar(doc_id).as_dict()


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class ReadyResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.service.ready():
            raise ServiceUnavailable("no index is open yet: run search-reindex")
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

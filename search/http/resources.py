"""Falcon resources: parse the request, call the search service, shape JSON.

They know nothing of any engine; every error they raise is a ``SearchServiceError``
that ``app.py`` turns into the contract's JSON error body.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator
from typing import Any, TypeVar

import falcon

from search.errors import IndexUnavailable, SearchServiceError, SearchTimeout
from search.http import metrics, openapi, page
from search.http.headers import not_modified
from search.http.writes import delete_document
from search.ingest.pushes import PushLog
from search.query.params import EXPORT_PARAMETERS, check_known, parse_request, parse_suggest
from search.service import SearchService

R = TypeVar("R", bound=type)
# How long a scrape of ``/metrics`` waits for its worker's view of the index.
METRICS_WAIT_S = 0.1


def with_head(resource: R) -> R:
    """Answer ``HEAD`` wherever ``GET`` is answered (load balancers probe with it);
    falcon sends the headers without the body."""
    resource.on_head = resource.on_get  # type: ignore[attr-defined]
    return resource


@with_head
class SearchResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        check_known(req.params)
        request = parse_request(req.params)
        if not_modified(req, resp, self.service.version()):
            return
        results = self.service.search(request)
        metrics.RESULTS.observe(results.total)
        resp.media = results.as_dict()


@with_head
class ExportResource:
    """``/export``: every match, whole, one JSON object a line, streamed.

    The first batch is read before the answer starts, so a bad query or a missing
    index is a JSON error with its status; a failure later can only end the stream,
    with a last line ``{"error": {...}}`` that says so.
    """

    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        check_known(req.params, EXPORT_PARAMETERS)
        batches = self.service.export(parse_request(req.params))
        first = next(batches)
        resp.content_type = "application/x-ndjson"
        resp.stream = _lines(first, batches)


def _lines(first: list[Any], batches: Generator[list[Any]]) -> Generator[bytes]:
    batch: list[Any] | None = first
    outcome = "gone"
    try:
        while batch is not None:
            metrics.EXPORTED.inc(len(batch))
            yield "".join(json.dumps(a.public()) + "\n" for a in batch).encode()
            batch = next(batches, None)
        outcome = "done"
    except SearchServiceError as exc:
        outcome = "error"
        yield (json.dumps({"error": {"code": exc.code, "message": str(exc)}}) + "\n").encode()
    finally:
        metrics.EXPORTS.labels(outcome).inc()
        batches.close()  # a client gone mid-stream stops it here (the server closes this)


@with_head
class SuggestResource:
    """``/suggest``: completions for a search box, one call a keystroke."""

    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q, limit = parse_suggest(req.params)
        completions = self.service.suggest(q, limit)
        resp.media = {"query": q, "suggestions": [c.as_dict() for c in completions]}


@with_head
class PageResource:
    """``/``: the search page for people in a browser."""

    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        status, html = page.render(self.service, req.params)
        resp.status = falcon.code_to_http_status(status)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = html


@with_head
class MetricsResource:
    """``/metrics``: Prometheus text format, all workers aggregated."""

    def __init__(self, service: SearchService, pushes: PushLog) -> None:
        self.service = service
        self.pushes = pushes

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        # A worker busy with a long search leaves its index gauges as they were
        # rather than hold the scrape (a 503 once the time limit passed).
        with contextlib.suppress(IndexUnavailable, SearchTimeout):
            metrics.record_index(self.service.stats(wait_s=METRICS_WAIT_S))
        metrics.record_pushes(self.pushes.counts())
        resp.data, resp.content_type = metrics.exposition()


@with_head
class DocumentResource:
    """``/documents/{id}`` and ``/documents/{id}/similar``; ids may contain slashes."""

    SIMILAR = "/similar"
    scopes = {"DELETE": "write"}

    def __init__(self, service: SearchService, pushes: PushLog) -> None:
        self.service = service
        self.pushes = pushes

    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        if not_modified(req, resp, self.service.version()):
            return
        if doc_id.endswith(self.SIMILAR):
            resp.media = self.service.similar(doc_id.removesuffix(self.SIMILAR)).as_dict()
        else:
            resp.media = self.service.document(doc_id).public()

    def on_delete(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        resp.media = delete_document(self.service, self.pushes, doc_id)


@with_head
class HealthResource:
    public = True

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


@with_head
class ReadyResource:
    public = True

    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        parts = self.service.ready()
        if parts is None:
            raise IndexUnavailable("no index is open yet: run search-reindex")
        resp.media = {"status": "ready", **parts}


@with_head
class StatsResource:
    def __init__(self, service: SearchService, pushes: PushLog) -> None:
        self.service = service
        self.pushes = pushes

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {**self.service.stats(), "pushes": self.pushes.counts()}


@with_head
class OpenAPIResource:
    def __init__(self) -> None:
        self.document: dict[str, Any] = openapi.document()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document

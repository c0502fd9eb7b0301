"""The falcon application: ``create_app(settings)`` is what gunicorn runs.

Each gunicorn worker imports this module and calls the factory after the fork
(the config does not preload), so every worker opens the index itself, lazily, on
its first request. Errors become the contract's JSON body: deliberate ones with
their own code and status, anything else a logged 500 with no detail sent out.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import falcon
import orjson

from search.alerts import Alerts
from search.config import Settings
from search.errors import NotFound, SearchServiceError
from search.http import metrics, page
from search.http.alerts import AlertMatchesResource, AlertResource, AlertsResource
from search.http.auth import KeyMiddleware
from search.http.headers import SecurityHeadersMiddleware, cors_middleware
from search.http.metrics import MetricsMiddleware
from search.http.resources import (
    DocumentResource,
    ExportResource,
    HealthResource,
    MetricsResource,
    OpenAPIResource,
    PageResource,
    ReadyResource,
    SearchResource,
    StatsResource,
    SuggestResource,
)
from search.http.writes import KeyResource, KeysResource, PushResource, SynonymsResource
from search.ingest.pushes import PushLog
from search.keys import Keys
from search.query.synonyms import SynonymStore
from search.service import SearchService
from search.stores.from_settings import open_store

log = logging.getLogger("search.http.app")
REQUEST_ID = "X-Request-ID"


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class RequestIdMiddleware:
    """Echo the caller's request id, or make one, so logs and clients can correlate."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.request_id = req.get_header(REQUEST_ID) or uuid.uuid4().hex

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        resp.set_header(REQUEST_ID, getattr(req.context, "request_id", ""))


def _service_error(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    assert isinstance(ex, SearchServiceError)
    resp.status = falcon.code_to_http_status(ex.status)
    resp.media = error_body(ex.code, str(ex))


def _http_error(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    assert isinstance(ex, falcon.HTTPError)
    if ex.status_code == 404:
        code, message = NotFound.code, f"no route {req.path}"
    else:
        code = (ex.title or "http_error").lower().replace(" ", "_")
        message = ex.description or ex.title or "request failed"
    resp.status = ex.status
    resp.media = error_body(code, message)
    headers = ex.headers or {}
    resp.set_headers(headers.items() if isinstance(headers, dict) else headers)


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    log.exception(
        "unhandled error on %s %s (request %s)",
        req.method,
        req.relative_uri,
        getattr(req.context, "request_id", "-"),
    )
    resp.status = falcon.HTTP_500
    resp.media = error_body("internal_error", "the server failed to answer; it has been logged")


def create_app(
    settings: Settings | None = None, service: SearchService | None = None
) -> falcon.App:
    """Build the WSGI app; ``service`` lets tests supply their own."""
    settings = settings or Settings.from_env()
    synonyms = SynonymStore(settings.index_dir)
    service = service or SearchService(
        open_store(settings, on_failover=metrics.count_failover),
        time_limit_s=settings.search_time_limit_s,
        refresh_interval_s=settings.refresh_interval_s,
        cache_size=settings.result_cache_size,
        synonyms=synonyms,
    )
    pushes, keys = PushLog(settings.index_dir), Keys(settings.index_dir)
    middleware: list[Any] = [
        RequestIdMiddleware(),
        MetricsMiddleware(),
        SecurityHeadersMiddleware(page.STYLE_HASH, page.SCRIPT_HASH),
    ]
    cors = cors_middleware(settings.cors_origins)
    if cors is not None:
        middleware.append(cors)
    middleware.append(KeyMiddleware(keys, settings.require_key))
    app = falcon.App(middleware=middleware)
    json_handler = falcon.media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.req_options.auto_parse_qs_csv = False
    app.req_options.keep_blank_qs_values = False
    app.add_route("/", PageResource(service))
    app.add_route("/search", SearchResource(service))
    app.add_route("/suggest", SuggestResource(service))
    app.add_route("/export", ExportResource(service))
    app.add_route(
        "/documents",
        PushResource(
            service,
            pushes,
            settings.max_push_bytes,
            settings.push_wait_s,
            settings.refresh_interval_s,
        ),
    )
    # Ids are paths ("politics/001"), so the id takes the rest of the URL.
    app.add_route("/documents/{doc_id:path}", DocumentResource(service, pushes))
    app.add_route("/synonyms", SynonymsResource(synonyms))
    alerts = Alerts(settings.index_dir)
    app.add_route("/alerts", AlertsResource(alerts, pushes))
    app.add_route("/alerts/{alert_id}", AlertResource(alerts))
    app.add_route("/alerts/{alert_id}/matches", AlertMatchesResource(alerts))
    app.add_route("/keys", KeysResource(keys))
    app.add_route("/keys/{key_id}", KeyResource(keys))
    app.add_route("/health", HealthResource())
    app.add_route("/ready", ReadyResource(service))
    app.add_route("/stats", StatsResource(service, pushes))
    app.add_route("/openapi.json", OpenAPIResource())
    app.add_route("/metrics", MetricsResource(service, pushes))
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(SearchServiceError, _service_error)
    return app

"""The OpenAPI 3 document of the HTTP API, built from the same constants the code uses.

Parameter names, enums and bounds come from ``search.query.params``, so the document
cannot drift from what ``/search`` accepts; a test validates it and compares its
parameters with ``params.PARAMETERS``.
"""

from __future__ import annotations

from typing import Any

from search.completions import KINDS
from search.completions import MAX_LIMIT as MAX_SUGGESTIONS
from search.query import params

ERROR = {"$ref": "#/components/schemas/Error"}


def _param(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description, **extra}


SEARCH_PARAMETERS = [
    _param("q", {"type": "string", "maxLength": params.MAX_Q_CHARS},
           "Query text: words (all must match), \"phrases\", OR, NOT/-word, "
           "title:/body:/people:/date: fields, prefix*, word~ (fuzzy), "
           "date:[2026-01-01 TO 2026-01-31]. Empty lists every document, newest first."),
    _param("people", {"type": "array", "items": {"type": "string"}},
           "Exact canonical person; repeat for several (all must match).", explode=True),
    _param("from", {"type": "string", "format": "date"}, "Earliest date, inclusive (YYYY-MM-DD)."),
    _param("to", {"type": "string", "format": "date"}, "Latest date, inclusive (YYYY-MM-DD)."),
    _param("sort", {"type": "string", "enum": list(params.SORTS), "default": "relevance"},
           "relevance, date (newest first) or -date (oldest first)."),
    _param("page", {"type": "integer", "minimum": 1, "maximum": params.MAX_PAGE, "default": 1},
           "1-based page number."),
    _param("per_page", {"type": "integer", "minimum": 1, "maximum": params.MAX_PER_PAGE,
                        "default": 10}, "Hits per page."),
    _param("facets", {"type": "string"},
           f"Comma list of facets to count over all matches: {', '.join(params.FACETS)}."),
    _param("collapse", {"type": "boolean", "default": False},
           "Fold articles of one story into its best-ranked hit (listed in duplicates)."),
    _param("match", {"type": "string", "enum": list(params.MATCHES), "default": "all"},
           "all: every word must match. any: bag of words, for questions and pasted "
           "paragraphs (\"find coverage related to this text\"): any word may match, "
           "the more and the rarer the better, ranked with the best hits' own key words "
           "(pseudo-relevance feedback); q is then read as plain words, with no syntax, "
           "and a long question loses its stop words. Plain words joined by OR are the "
           "same bag of words."),
    _param("recency", {"type": "string", "pattern": params.HALF_LIFE.pattern},
           "A half-life (30d, 2w, 6m, 1y; sort=relevance only): newer articles rank "
           "higher. Each score gains a recency part, up to half the best match's score, "
           "halved for every half-life of the article's age counted from the newest "
           "article; undated articles gain none, so the text match still decides "
           "between articles of a similar age."),
    _param("cursor", {"type": "string"},
           "A previous response's next_cursor, of the same search: the page after it, "
           "for walking every match (past page 1000). Not with page. In date order a "
           "walk sees each article there when it began once, while articles are added; "
           "in relevance order, while the index is unchanged (scores change with it)."),
]  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "Document": {
        "type": "object",
        "required": ["id", "title", "date", "people", "body", "url", "source"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "date": {"type": "string", "format": "date", "nullable": True},
            "people": {"type": "array", "items": {"type": "string"}},
            "body": {"type": "string"},
            "url": {"type": "string", "nullable": True},
            "source": {"type": "string", "nullable": True},
        },
    },
    "Hit": {
        "type": "object",
        "required": ["id", "score", "title", "date", "people", "url", "highlights"],
        "properties": {
            "id": {"type": "string"},
            "score": {"type": "number", "nullable": True,
                      "description": "Relevance; null when sorted by date."},
            "title": {"type": "string"},
            "date": {"type": "string", "format": "date", "nullable": True},
            "people": {"type": "array", "items": {"type": "string"}},
            "url": {"type": "string", "nullable": True},
            "highlights": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "body": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                },
            },
            "duplicates": {"type": "array", "items": {"type": "string"},
                           "description": "Only with collapse=true."},
        },
    },
    "FacetValue": {
        "type": "object",
        "properties": {"value": {"type": "string"}, "count": {"type": "integer"}},
    },
    "Results": {
        "type": "object",
        "required": [
            "query", "total", "page", "per_page", "took_ms", "hits", "facets", "suggestion",
            "next_cursor",
        ],
        "properties": {
            "query": {"type": "string"},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "took_ms": {"type": "number"},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": {
                "type": "object",
                "additionalProperties": {
                    "type": "array", "items": {"$ref": "#/components/schemas/FacetValue"}
                },
            },
            "suggestion": {"type": "string", "nullable": True},
            "next_cursor": {"type": "string", "nullable": True,
                            "description": "The cursor of the next page; null on the last."},
        },
    },
}  # fmt: skip


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _content(media_type: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


ERROR_MEANINGS = {
    400: "invalid_parameter or invalid_query; bad_request for a request that is not valid HTTP",
    401: "unauthorized: no key, or one unknown, revoked or expired",
    403: "forbidden: the key's scope does not allow this",
    404: "not_found",
    413: "payload_too_large: the body is over SEARCH_MAX_PUSH_BYTES",
    408: "request_timeout: the request did not arrive whole in time",
    414: "uri_too_long: the request line is over 8,190 bytes",
    431: "headers_too_large",
    500: "internal_error (logged; no detail is sent)",
    507: "insufficient_storage: the disk is full; nothing of the request was written",
    503: "index_unavailable, search_timeout, shard_unavailable or index_changing (written "
    "over too often during the search); overloaded when a worker holds as many "
    "connections as it may",
}
# What any route can answer, from the server itself.
SERVER_ERRORS = (400, 408, 414, 431, 500, 503)
NOT_MODIFIED = {
    "304": {
        "description": "Not modified: the index has not changed since the ETag the "
        "request sent in If-None-Match was given for the same request"
    }
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): _json(ERROR, ERROR_MEANINGS[status])
        for status in sorted({*statuses, *SERVER_ERRORS})
    }


def _get(
    summary: str, ok: dict[str, Any], *errors: int, parameters: Any = None, etag: bool = False
) -> dict[str, Any]:
    """A GET operation (HEAD answers the same without a body); with ``etag``, its
    answers carry an ETag and a current one in If-None-Match gets a 304."""
    responses = {"200": ok, **(NOT_MODIFIED if etag else {}), **_errors(*errors)}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def _page() -> dict[str, Any]:
    """``/``: HTML, with its own errors shown in the page (JSON only from the server)."""
    operation = _get(
        "The search page for browsers (HTML)",
        _content("text/html", "The page with its results."),
        503,
        parameters=[p for p in SEARCH_PARAMETERS if p["name"] in params.PAGE_PARAMETERS],
    )
    for status in ("400", "503"):
        response = operation["get"]["responses"][status]
        response["description"] = "The page showing the error (HTML); " + response["description"]
        response["content"]["text/html"] = {"schema": {"type": "string"}}
    return operation


SUGGEST_PARAMETERS = [
    _param("q", {"type": "string", "maxLength": params.MAX_Q_CHARS},
           "What is typed so far; its last word is completed (nothing after a space)."),
    _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_SUGGESTIONS,
                     "default": params.SUGGEST_LIMIT}, "Completions at most."),
]  # fmt: skip
SUGGESTIONS = {"type": "object", "required": ["query", "suggestions"], "properties": {
    "query": {"type": "string"},
    "suggestions": {"type": "array", "items": {
        "type": "object", "required": ["text", "kind", "count"], "properties": {
            "text": {"type": "string"}, "kind": {"type": "string", "enum": list(KINDS)},
            "count": {"type": "integer", "description": "articles that have it"}}}}}}  # fmt: skip
ID_PARAMETER = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
OBJECT = {"type": "object"}
KEY: list[dict[str, list[str]]] = [{"key": []}]
PUSH_ITEM = {"type": "object", "required": ["id", "status"], "properties": {
    "id": {"type": "string", "nullable": True},
    "status": {"type": "string", "enum": ["created", "updated", "unchanged", "error"]},
    "line": {"type": "integer"},
    "error": {"$ref": "#/components/schemas/Error/properties/error"},
}}  # fmt: skip


def _write(summary: str, ok: dict[str, Any], scope: str, *errors: int, **extra: Any) -> Any:
    """An operation that needs a key of ``scope``."""
    return {"summary": f"{summary} ({scope} key)", "security": KEY,
            "responses": {"200": ok, **_errors(401, 403, *errors)}, **extra}  # fmt: skip


def _writes() -> dict[str, Any]:
    """The operations that write: pushed articles, synonyms and keys."""
    push = _write(
        "Push articles: one object, an array, or NDJSON; upsert by id",
        _json({"type": "object", "required": ["errors", "took_ms", "items"], "properties": {
            "errors": {"type": "boolean"}, "took_ms": {"type": "number"},
            "searchable": {"type": "boolean"},
            "items": {"type": "array", "items": PUSH_ITEM}}},
            "Per item: created, updated, unchanged or error; every item not in error is "
            "on disk and will be searchable."),
        "write", 413, 507,
        parameters=[{"name": "wait", "in": "query", "schema": {"type": "boolean"},
                     "description": "answer once the articles are searchable"}],
        requestBody={"required": True, "content": {
            "application/json": {"schema": {"oneOf": [OBJECT, {"type": "array", "items": OBJECT}]}},
            "application/x-ndjson": {"schema": {"type": "string"}}}},
    )  # fmt: skip
    key = {"type": "object", "required": ["id", "scope"]}
    created = _json(key, "The new key: ``key`` is shown this once.")
    synonyms = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["synonyms"],
            "properties": {
                "root": {"type": "string"},
                "synonyms": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    return {
        "/documents": {"post": push},
        "/synonyms": {
            **_get("The synonym set", _json(synonyms, "Groups, and one-way roots.")),
            "put": {**_write("Replace the synonym set, for the next search", _json(
                synonyms, "The set now in use."), "write"),
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": synonyms}}}},
        },
        "/keys": {
            "get": _write("Every key, never the keys themselves", _json(OBJECT, "The keys."),
                          "admin"),
            "post": {**_write("Make a key", created, "admin"),
                     "responses": {"201": created, **_errors(401, 403)},
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"type": "object", "required": ["scope"], "properties": {
                             "scope": {"type": "string", "enum": ["search", "write", "admin"]},
                             "name": {"type": "string"},
                             "expires": {"type": "string", "format": "date"}}}}}}},
        },
        "/keys/{id}": {"delete": _write("Revoke a key", _json(key, "The key, revoked."),
                                        "admin", 404, parameters=[ID_PARAMETER])},
        **_alerts(),
    }  # fmt: skip


ALERT = {
    "type": "object",
    "required": ["id", "name", "q", "people", "created"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "q": {"type": "string"},
        "people": {"type": "array", "items": {"type": "string"}},
        "from": {"type": "string", "format": "date", "nullable": True},
        "to": {"type": "string", "format": "date", "nullable": True},
        "match": {"type": "string", "enum": list(params.MATCHES), "nullable": True},
        "webhook": {"type": "string", "nullable": True},
        "created": {"type": "string"},
        "secret": {"type": "string", "description": "At creation only: signs webhook calls."},
    },
}
ALERT_BODY = {
    "type": "object",
    "properties": {
        name: schema
        for name, schema in ALERT["properties"].items()  # type: ignore[attr-defined]
        if name in ("name", "q", "people", "from", "to", "match", "webhook")
    },
}
ALERT_MATCHES = {
    "type": "object",
    "required": ["matches", "next"],
    "properties": {
        "matches": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "date": {"type": "string", "nullable": True},
                    "matched_at": {"type": "string"},
                },
            },
        },
        "next": {"type": "string"},
    },
}


def _alerts() -> dict[str, Any]:
    """Saved searches matched against every new article (``search.alerts``)."""
    made = _json(ALERT, "The alert, with its secret (shown this once).")
    listed = _json(
        {"type": "object", "properties": {"alerts": {"type": "array", "items": ALERT}}},
        "The alerts.",
    )
    matches = _json(ALERT_MATCHES, "Matches after the cursor, oldest first; next to ask with.")
    paging = [
        {
            "name": "after",
            "in": "query",
            "schema": {"type": "string"},
            "description": "The last answer's next (none: from the first match).",
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
    ]
    return {
        "/alerts": {
            "get": _write("Every alert", listed, "write"),
            "post": {**_write("Save a search as an alert: the /search query and filters, and "
                              "an optional webhook", made, "write"),
                     "responses": {"201": made, **_errors(400, 401, 403)},
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": ALERT_BODY}}}},
        },
        "/alerts/{id}": {
            "get": _write("One alert", _json(ALERT, "The alert."), "write", 404,
                          parameters=[ID_PARAMETER]),
            "delete": _write("Delete an alert and its matches", _json(ALERT, "The alert."),
                             "write", 404, parameters=[ID_PARAMETER]),
        },
        "/alerts/{id}/matches": {
            "get": _write("An alert's matches, each once to a client that follows next",
                          matches, "write", 400, 404, parameters=[ID_PARAMETER, *paging]),
        },
    }  # fmt: skip


def document() -> dict[str, Any]:
    """The OpenAPI document served at ``/openapi.json``."""
    results = _json({"$ref": "#/components/schemas/Results"}, "Ranked, highlighted results.")
    return {
        "openapi": "3.0.3",
        "info": {"title": "News search API", "version": "1.0.0"},
        "paths": {
            "/search": _get(
                "Search articles", results, 400, 503, parameters=SEARCH_PARAMETERS, etag=True
            ),
            "/suggest": _get(
                "Completions for a search box: people and title words that start with "
                "the last word of q, most articles first",
                _json(SUGGESTIONS, '{"query": ..., "suggestions": [...]}'),
                400,
                503,
                parameters=SUGGEST_PARAMETERS,
            ),
            "/export": _get(
                "Every match of a search (the /search parameters but page, per_page and "
                "cursor), whole, one JSON object a line, in the search's order, streamed "
                "a batch at a time; a failure after the stream began ends it with a line "
                '{"error": {"code": ..., "message": ...}}',
                _content("application/x-ndjson", "One document (as /documents/{id}) a line."),
                400,
                503,
                parameters=[p for p in SEARCH_PARAMETERS if p["name"] in params.EXPORT_PARAMETERS],
            ),
            "/documents/{id}": {
                **_get(
                    "One whole article",
                    _json({"$ref": "#/components/schemas/Document"}, "The article."),
                    404,
                    503,
                    parameters=[ID_PARAMETER],
                    etag=True,
                ),
                "delete": _write(
                    "Delete an article (gone from search within about a second)",
                    _json(OBJECT, '{"id": ..., "status": "deleted"}'),
                    "write",
                    404,
                    parameters=[ID_PARAMETER],
                ),
            },
            **_writes(),
            "/documents/{id}/similar": _get(
                "Up to 10 related articles",
                results,
                404,
                503,
                parameters=[ID_PARAMETER],
                etag=True,
            ),
            "/health": _get("Liveness", _json(OBJECT, '{"status": "ok"}')),
            "/ready": _get(
                "Readiness: an index is open",
                _json(OBJECT, "Ready (and, for a sharded index, each shard's replicas)."),
                503,
            ),
            "/stats": _get(
                "Index statistics",
                _json(
                    OBJECT, "Counts, generation, size; for a sharded index each replica's state."
                ),
                503,
            ),
            "/openapi.json": _get("This document", _json(OBJECT, "OpenAPI 3 document.")),
            "/": _page(),
            "/metrics": _get(
                "Prometheus metrics of all workers",
                _content("text/plain", "Prometheus text exposition format."),
            ),
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"key": {"type": "http", "scheme": "bearer"}},
        },
    }

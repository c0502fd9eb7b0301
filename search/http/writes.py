"""Falcon resources that write: pushed articles, keys and synonyms.

They log what they are given durably and answer; the index itself is written by
the one writer (``search.writer``), never here. Each needs a key of its scope
(``search.http.auth``).
"""

from __future__ import annotations

import time
from typing import Any

import falcon

from search.errors import ArticleError, InvalidBody, NotFound, PayloadTooLarge
from search.ingest.pushes import Checked, PushLog, check, items_of
from search.keys import Keys
from search.query.params import bool_param
from search.query.synonyms import SynonymStore
from search.service import SearchService

WAIT_POLL_S = 0.02


class PushResource:
    """``POST /documents``: articles in (one, an array, or NDJSON), a result per item."""

    scopes = {"POST": "write"}

    def __init__(
        self,
        service: SearchService,
        pushes: PushLog,
        max_bytes: int,
        wait_s: float,
        refresh_interval_s: float,
    ) -> None:
        self.service = service
        self.pushes = pushes
        self.max_bytes = max_bytes
        self.wait_s = wait_s
        self.refresh_interval_s = refresh_interval_s

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        started = time.perf_counter()
        wait = bool_param(req.params, "wait")
        results: list[dict[str, Any]] = []
        good: list[tuple[Checked, dict[str, Any]]] = []  # each with its result, to fill in
        for number, item in items_of(self._body(req), req.content_type):
            try:
                checked = check(item)
            except ArticleError as exc:
                error = {"code": "invalid_document", "message": str(exc)}
                results.append({"id": _id_of(item), "line": number, "status": "error",
                                "error": error})  # fmt: skip
                continue
            results.append({"id": checked.id})
            good.append((checked, results[-1]))
        indexed = self.service.existing([checked.id for checked, _ in good])
        seq, logged = self.pushes.write([checked for checked, _ in good])
        for (checked, result), status in zip(good, logged, strict=True):
            if status == "new":
                status = "updated" if checked.id in indexed else "created"
            result["status"] = "updated" if status == "changed" else status
        body: dict[str, Any] = {"errors": len(good) < len(results)}
        if wait:
            body["searchable"] = self._searchable(seq)
        body["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        body["items"] = results
        resp.media = body

    def _body(self, req: falcon.Request) -> bytes:
        """The body, at most ``max_bytes``.

        Raises:
            PayloadTooLarge: it is longer.
            InvalidBody: there is none.
        """
        if req.content_length is not None and req.content_length > self.max_bytes:
            raise PayloadTooLarge(f"a push body is at most {self.max_bytes:,} bytes")
        data = req.bounded_stream.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(f"a push body is at most {self.max_bytes:,} bytes")
        if not data.strip():
            raise InvalidBody("the body is empty: send a JSON object, an array, or NDJSON")
        return bytes(data)

    def _searchable(self, seq: int) -> bool:
        """Wait until the writer has committed up to ``seq``, and one refresh interval
        more: every worker looks for a new commit at a request once an interval has
        passed since it last looked, so any search after this answer finds it."""
        deadline = time.monotonic() + self.wait_s
        while seq and self.pushes.applied() < seq:
            if time.monotonic() > deadline:
                return False
            time.sleep(WAIT_POLL_S)
        time.sleep(self.refresh_interval_s)
        return True


def _json_body(req: falcon.Request, shape: str) -> Any:
    """The request's JSON body.

    Raises:
        InvalidBody: it is not JSON (``shape`` says what it should be).
    """
    try:
        return req.get_media()
    except falcon.MediaMalformedError:
        raise InvalidBody(f"the body must be JSON: {shape}") from None


def _id_of(item: Any) -> str | None:
    given = item.get("id") if isinstance(item, dict) else None
    return str(given) if isinstance(given, str | int) and not isinstance(given, bool) else None


class SynonymsResource:
    """``GET /synonyms`` (the set) and ``PUT /synonyms`` (write key: the whole set, for
    the next search of every worker)."""

    scopes = {"PUT": "write"}

    def __init__(self, synonyms: SynonymStore) -> None:
        self.synonyms = synonyms

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = list(self.synonyms.current()[1].entries)

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        entries = _json_body(req, "a list of synonym groups")
        resp.media = list(self.synonyms.put(entries).entries)


class KeysResource:
    """``GET /keys`` (never the keys themselves) and ``POST /keys`` (the key, once)."""

    scopes = {"GET": "admin", "HEAD": "admin", "POST": "admin"}

    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"keys": [key.as_dict() for key in self.keys.list()]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        asked = _json_body(req, '{"scope": "search|write|admin", ...}')
        if not isinstance(asked, dict):
            raise InvalidBody('the body must be a JSON object: {"scope": ...}')
        key, text = self.keys.create(
            str(asked.get("scope", "")),
            str(asked.get("name") or ""),
            None if asked.get("expires") is None else str(asked["expires"]),
        )
        resp.status = falcon.HTTP_201
        resp.media = {**key.as_dict(), "key": text}


class KeyResource:
    """``DELETE /keys/{id}``: revoke a key."""

    scopes = {"DELETE": "admin"}

    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    def on_delete(self, req: falcon.Request, resp: falcon.Response, key_id: str) -> None:
        resp.media = self.keys.revoke(key_id).as_dict()


def delete_document(service: SearchService, pushes: PushLog, doc_id: str) -> dict[str, str]:
    """``DELETE /documents/{id}``: log the deletion of an indexed or pushed article.

    Raises:
        NotFound: no article has this id.
    """
    if not service.existing([doc_id]) and not pushes.pushed(doc_id):
        raise NotFound(f"no document with id {doc_id!r}")
    pushes.delete(doc_id)
    return {"id": doc_id, "status": "deleted"}

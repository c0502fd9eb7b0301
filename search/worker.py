"""The gunicorn worker ``search-serve`` runs: threaded, slow-client-proof, JSON errors.

Sync workers give each connection the whole process, so as many slow clients as
there are workers (sending a header line every few seconds) stop the service.
gunicorn's threaded worker waits for a connection's first bytes in its event loop
but then reads the rest of the request in a pool thread with no time limit; this
worker gives every request ``SEARCH_REQUEST_READ_TIMEOUT_S`` to arrive whole,
then answers 408 and frees the thread. With a few threads a process, a handful
of slow or idle clients leave the others, ``/health`` included, answered at once.

gunicorn writes its own errors (an over-long request line, too many header bytes,
a malformed request) as HTML pages; here they are the contract's JSON body.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import TConn, ThreadWorker

REQUEST_READ_TIMEOUT_S = 10.0


class RequestReadTimeout(Exception):
    """The client did not send its whole request in time."""


class _TimedSocket:
    """A socket whose reads stop at the connection's current request deadline."""

    def __init__(self, sock: socket.socket, conn: Any) -> None:
        self._sock = sock
        self._conn = conn

    def recv(self, size: int, *flags: int) -> bytes:
        remaining = self._conn.read_deadline - time.monotonic()
        if remaining <= 0:
            raise RequestReadTimeout()
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            raise RequestReadTimeout() from None
        finally:
            self._sock.settimeout(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


ERRORS: list[tuple[type[BaseException], int, str, str, str]] = [
    (RequestReadTimeout, 408, "Request Timeout", "request_timeout",
     "the request did not arrive in time"),
    (http_errors.LimitRequestLine, 414, "URI Too Long", "uri_too_long",
     "the request line is too long; send a shorter query"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large",
     "headers_too_large", "the request's headers are too many or too large"),
    (http_errors.ParseException, 400, "Bad Request", "bad_request",
     "the request is not valid HTTP"),
]  # fmt: skip


def error_response(exc: BaseException) -> tuple[int, str, bytes]:
    """Status, reason and the contract's JSON body for an error gunicorn meets."""
    status, reason, code, message = next(
        (entry[1:] for entry in ERRORS if isinstance(exc, entry[0])),
        (500, "Internal Server Error", "internal_error",
         "the server failed to answer; it has been logged"),
    )  # fmt: skip
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return status, reason, body


class _TimedConn(TConn):
    """A connection whose request reads stop at ``read_deadline``."""

    read_deadline = float("inf")

    def init(self) -> None:
        fresh = self.parser is None
        super().init()
        if fresh and not self.is_http2:
            self.parser.unreader.sock = _TimedSocket(self.parser.unreader.sock, self)


class SearchWorker(ThreadWorker):
    """gunicorn's threaded worker with a time limit on reading each request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout_s = float(
            os.environ.get("SEARCH_REQUEST_READ_TIMEOUT_S", REQUEST_READ_TIMEOUT_S)
        )

    def enqueue_req(self, conn: Any) -> None:
        conn.__class__ = _TimedConn
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        conn.read_deadline = time.monotonic() + self.read_timeout_s
        return super().handle(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, reason, body = error_response(exc)
        if status >= 500:
            self.log.exception("Error handling request")
        else:
            self.log.info("Refused a request from %s: %s", (addr or ("",))[0], exc)
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            client.sendall(head.encode("latin-1") + body)
        except OSError:
            self.log.debug("Could not send the error response")

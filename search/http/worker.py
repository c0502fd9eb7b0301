"""The gunicorn worker ``search-serve`` runs: requests read in an event loop, answered
in threads, JSON errors.

gunicorn's threaded worker hands a connection to a pool thread as soon as it is
accepted or its first byte arrives, and the thread then blocks until the whole
request is in. A client that sends a header line every few seconds, or connects
and sends nothing, holds a thread: twenty of them stopped a server of 2 x 8
threads. Here the worker's selector loop reads every request itself, without
blocking, until its head and body are in; only a whole request reaches a thread,
so a slow or idle client costs a socket and a few bytes, as in nginx. Each request
has ``SEARCH_REQUEST_READ_TIMEOUT_S`` from its first byte to arrive (408 after
that); an idle kept-alive connection is closed after gunicorn's ``keepalive``; a
worker past ``SEARCH_MAX_CONNECTIONS`` answers new connections 503 at once instead
of leaving them in the kernel's queue.

gunicorn writes its own errors (an over-long request line, too many header bytes,
a malformed request) as HTML pages; here they are the contract's JSON body.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import sys
import time
from functools import partial
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import TConn, ThreadWorker

from search.config import Settings

# How long a refused connection is drained after its answer before it is closed:
# closing with the client's bytes unread would send a reset, which can destroy the
# answer before the client reads it (RFC 9112, section 9.6).
LINGER_S = 2.0
# A body larger than this is read by the thread (under the same read deadline):
# the loop buffers small requests, not uploads.
LOOP_BUFFER_BYTES = 1 << 20
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r]*chunked", re.IGNORECASE)


class RequestReadTimeout(Exception):
    """The client did not send its whole request in time."""


class Overloaded(Exception):
    """The worker holds as many connections as it may."""


ERRORS: list[tuple[type[BaseException], int, str, str, str]] = [
    (RequestReadTimeout, 408, "Request Timeout", "request_timeout",
     "the request did not arrive in time"),
    (Overloaded, 503, "Service Unavailable", "overloaded",
     "the server has too many connections open; retry shortly"),
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


def error_bytes(exc: BaseException) -> bytes:
    """The whole HTTP/1.1 answer, closing the connection, for an error gunicorn meets."""
    status, reason, body = error_response(exc)
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def request_complete(data: bytes | bytearray, head_limit: int) -> bool:
    """Whether ``data`` holds a whole request (or as much as the loop should wait for).

    A head past ``head_limit`` bytes, a chunked body or a body past the loop's
    buffer goes to a thread as it is: the parser answers the first with 414/431,
    and reads the others on under the request's read deadline.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) > head_limit
    head = bytes(data[:end])
    if _CHUNKED.search(head):
        return True
    length = _CONTENT_LENGTH.search(head)
    wanted = int(length.group(1)) if length else 0
    return len(data) - end - 4 >= min(wanted, LOOP_BUFFER_BYTES)


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


class _LoopConn(TConn):
    """A connection with the bytes of its next request read so far by the loop."""

    read_deadline = float("inf")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.received = bytearray()

    def init(self) -> None:
        fresh = self.parser is None
        super().init()
        if fresh and not self.is_http2:
            self.parser.unreader.sock = _TimedSocket(self.parser.unreader.sock, self)


class SearchWorker(ThreadWorker):
    """gunicorn's threaded worker whose event loop reads whole requests for its threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = Settings.from_env()
        self.read_timeout_s = settings.request_read_timeout_s
        self.max_connections = settings.max_connections
        # gunicorn stops accepting at worker_connections, which leaves new clients
        # hanging in the listen queue; this worker always accepts and sheds instead.
        self.worker_connections = sys.maxsize
        self.max_keepalived = max(1, self.max_connections - self.cfg.threads)
        self.head_limit = self.cfg.limit_request_line + self.cfg.limit_request_field_size * 2
        # Connections whose request is being read, and refused ones being drained, in
        # the order of their deadlines (each is now + a constant when inserted).
        self.reading: dict[_LoopConn, None] = {}
        self.lingering: dict[socket.socket, float] = {}

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, addr = listener.accept()
        except OSError:
            return  # the client gave up before it was accepted: nothing to do
        self.nr_conns += 1
        if self.nr_conns > self.max_connections:
            self._refuse(sock, Overloaded())
            return
        self._read_request(_LoopConn(self.cfg, sock, addr, listener.getsockname()))

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        """A kept-alive connection has sent something: read its request in the loop."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_request(conn)

    def _read_request(self, conn: _LoopConn) -> None:
        """Read ``conn``'s next request in the loop, from what has arrived already."""
        conn.sock.setblocking(False)
        conn.received.clear()
        conn.read_deadline = time.monotonic() + self.read_timeout_s
        # A kept-alive connection is here because its request has arrived: most often
        # whole, and then it goes to a thread without a round through the selector.
        if not self._receive(conn, registered=False):
            self.reading[conn] = None
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: _LoopConn, client: Any) -> None:
        self._receive(conn)

    def _receive(self, conn: _LoopConn, registered: bool = True) -> bool:
        """Take the bytes that have arrived; whether ``conn`` has left the loop (its
        request whole and handed to a thread, or the client gone)."""
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        conn.received += data
        if data and not request_complete(conn.received, self.head_limit):
            return False
        if registered:
            self._stop_reading(conn)
        if data:
            self.enqueue_req(conn)
        else:  # the client went away before sending a whole request
            self.nr_conns -= 1
            conn.close()
        return True

    def _stop_reading(self, conn: _LoopConn) -> None:
        self.poller.unregister(conn.sock)
        del self.reading[conn]

    def murder_keepalived(self, force: bool = False) -> None:
        """Also answer 408 to requests that have not arrived by their deadline, and
        close refused connections whose lingering is over."""
        super().murder_keepalived(force)
        now = time.monotonic()
        while self.reading:
            conn = next(iter(self.reading))
            if conn.read_deadline > now and not force:
                break
            self._stop_reading(conn)
            self._refuse(conn.sock, RequestReadTimeout())
        while self.lingering:
            sock, until = next(iter(self.lingering.items()))
            if until > now and not force:
                break
            self._close_lingering(sock)

    def _refuse(self, sock: socket.socket, exc: BaseException) -> None:
        """Answer an error the loop decided on, without a thread; close after lingering."""
        self.nr_conns -= 1
        self.log.info("Refused a connection: %s", type(exc).__name__)
        try:
            sock.setblocking(False)
            sock.send(error_bytes(exc))  # a few hundred bytes: the socket buffer takes them
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        self.lingering[sock] = time.monotonic() + LINGER_S
        self.poller.register(sock, selectors.EVENT_READ, self._drain)

    def _drain(self, sock: socket.socket) -> None:
        """Discard what a refused client still sends, until it closes."""
        try:
            if sock.recv(65536):
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        self._close_lingering(sock)

    def _close_lingering(self, sock: socket.socket) -> None:
        self.poller.unregister(sock)
        del self.lingering[sock]
        sock.close()

    def handle(self, conn: Any) -> Any:
        """In a thread: the request the loop read, parsed from its bytes."""
        conn.data_ready = True
        conn.sock.setblocking(True)
        conn.init()
        if not conn.is_http2 and conn.received:
            conn.parser.unreader.unread(bytes(conn.received))
            conn.received.clear()
        return super().handle(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, _, _ = error_response(exc)
        if status >= 500:
            self.log.exception("Error handling request")
        else:
            self.log.info("Refused a request from %s: %s", (addr or ("",))[0], exc)
        try:
            client.sendall(error_bytes(exc))
        except OSError:
            self.log.debug("Could not send the error response")

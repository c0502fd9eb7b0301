"""Webhooks of alerts: each alert's new matches POSTed to its URL, signed, batched,
retried with backoff until acknowledged.

A thread of the writer process delivers them, apart from ingest, which it never
holds up. An alert's matches after the last batch its receiver acknowledged (a
2xx) go in one call, ``{"alert": id, "matches": [...]}`` (``BATCH`` at most), with
``X-Search-Signature: sha256=<hex HMAC-SHA256 of the body under the alert's
secret>``; the acknowledgement is recorded durably, so a receiver that is down
gets its backlog when it returns, and a batch is sent again only if it was not
acknowledged. A receiver that fails waits ``BACKOFF_S`` doubled a failure, up to
``MAX_BACKOFF_S``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request

from prometheus_client import Counter

from search.alerts import Alert, Alerts

BATCH = 100
TIMEOUT_S = 5.0
POLL_S = 0.2
BACKOFF_S, MAX_BACKOFF_S = 0.5, 60.0
SIGNATURE = "X-Search-Signature"

CALLS = Counter("search_webhook_calls_total", "Webhook calls of alerts, by outcome.", ["outcome"])
log = logging.getLogger("search.webhooks")


def signature(secret: str, body: bytes) -> str:
    """The header value a receiver checks: the body's HMAC-SHA256 under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Deliverer:
    """Delivers every alert's matches to its webhook, each receiver at its pace."""

    def __init__(self, alerts: Alerts) -> None:
        self.alerts = alerts
        self._failures: dict[str, int] = {}
        self._next_try: dict[str, float] = {}

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set."""
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # a thread that died would deliver nothing again
                log.exception("webhook delivery failed; trying again")
            stop.wait(POLL_S)

    def deliver_due(self) -> int:
        """One call to each receiver with matches to send whose backoff is over;
        returns how many were acknowledged."""
        acknowledged = 0
        for alert in self.alerts.all(with_webhook=True):
            if time.monotonic() >= self._next_try.get(alert.id, 0.0):
                acknowledged += self._deliver(alert)
        return acknowledged

    def _deliver(self, alert: Alert) -> int:
        matches, last = self.alerts.undelivered(alert.id, BATCH)
        if not matches:
            return 0
        body = json.dumps({"alert": alert.id, "matches": matches}).encode()
        request = urllib.request.Request(str(alert.webhook), data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header(SIGNATURE, signature(alert.secret, body))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                answer.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self._failed(alert, str(exc))
            return 0
        self.alerts.delivered(alert.id, last)
        self._failures.pop(alert.id, None)
        self._next_try.pop(alert.id, None)
        CALLS.labels("acknowledged").inc()
        return 1

    def _failed(self, alert: Alert, reason: str) -> None:
        failures = self._failures.get(alert.id, 0) + 1
        self._failures[alert.id] = failures
        wait = min(MAX_BACKOFF_S, BACKOFF_S * 2 ** (failures - 1))
        self._next_try[alert.id] = time.monotonic() + wait
        CALLS.labels("failed").inc()
        log.warning("webhook of alert %s failed (%s); next try in %.1fs", alert.id, reason, wait)

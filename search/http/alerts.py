"""Falcon resources of alerts (``search.alerts``): saved searches and their matches,
each behind a write key."""

from __future__ import annotations

import falcon

from search.alerts import MATCHES_LIMIT, MAX_MATCHES_LIMIT, Alerts
from search.errors import InvalidBody
from search.ingest.pushes import PushLog
from search.query.params import check_known, int_param

WRITE = "write"


class AlertsResource:
    """``POST /alerts`` (the alert, its secret once) and ``GET /alerts``."""

    scopes = {"GET": WRITE, "HEAD": WRITE, "POST": WRITE}

    def __init__(self, alerts: Alerts, pushes: PushLog) -> None:
        self.alerts = alerts
        self.pushes = pushes

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"alerts": [alert.public() for alert in self.alerts.all()]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            body = req.get_media()
        except falcon.MediaMalformedError:
            raise InvalidBody('the body must be JSON: {"q": ..., "name": ...}') from None
        key = getattr(req.context, "key", None)
        alert = self.alerts.create(body, key.id if key else None, self.pushes.applied())
        resp.status = falcon.HTTP_201
        resp.media = {**alert.public(), "secret": alert.secret}


class AlertResource:
    """``GET`` and ``DELETE /alerts/{id}``."""

    scopes = {"GET": WRITE, "HEAD": WRITE, "DELETE": WRITE}

    def __init__(self, alerts: Alerts) -> None:
        self.alerts = alerts

    def on_get(self, req: falcon.Request, resp: falcon.Response, alert_id: str) -> None:
        resp.media = self.alerts.get(alert_id).public()

    def on_delete(self, req: falcon.Request, resp: falcon.Response, alert_id: str) -> None:
        resp.media = {**self.alerts.delete(alert_id).public(), "status": "deleted"}


class AlertMatchesResource:
    """``GET /alerts/{id}/matches?after=CURSOR&limit=N``: oldest first, each once
    to a client that asks again with ``next``."""

    scopes = {"GET": WRITE, "HEAD": WRITE}

    def __init__(self, alerts: Alerts) -> None:
        self.alerts = alerts

    def on_get(self, req: falcon.Request, resp: falcon.Response, alert_id: str) -> None:
        check_known(req.params, ("after", "limit"))
        limit = int_param(req.params, "limit", MATCHES_LIMIT, 1, MAX_MATCHES_LIMIT)
        resp.media = self.alerts.matches(alert_id, req.get_param("after"), limit)

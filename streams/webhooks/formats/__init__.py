"""Payload formats: the same alert message, shaped for the receiver.

``native``: the ``frt.alert.v1`` JSON exactly as it was on the alert topic.
``ocsf``: an OCSF Detection Finding (class_uid 2004) for SIEMs.
``slack``: a Slack incoming-webhook message.
``pagerduty``: a PagerDuty Events API v2 ``trigger`` with ``dedup_key`` = alert id.

Every renderer is a pure function of the alert message, whether it is the
alert's first message, and the route, so a retried or redelivered message
has the same body as the first attempt.
"""

from __future__ import annotations

import orjson

from streams.webhooks.alert_message import AlertMessage
from streams.webhooks.formats.ocsf import ocsf_detection_finding
from streams.webhooks.formats.pagerduty import pagerduty_event
from streams.webhooks.formats.slack import slack_message
from streams.webhooks.routes import Route

JSON = "application/json"


def render(route: Route, alert: AlertMessage, *, first: bool) -> bytes:
    """The HTTP body a route receives for one alert message (always JSON)."""
    if route.format == "native":
        return alert.raw
    if route.format == "ocsf":
        return orjson.dumps(ocsf_detection_finding(alert, first=first))
    if route.format == "slack":
        return orjson.dumps(slack_message(alert, first=first))
    if route.format == "pagerduty":
        return orjson.dumps(pagerduty_event(alert, routing_key=route.routing_key or ""))
    raise ValueError(f"unknown webhook format {route.format!r}")


__all__ = ["JSON", "ocsf_detection_finding", "pagerduty_event", "render", "slack_message"]

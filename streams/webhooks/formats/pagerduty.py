"""A PagerDuty Events API v2 ``trigger`` event, or ``resolve`` when the alert closes.

``dedup_key`` is the alert id, so every update of an alert lands on the same
PagerDuty incident instead of paging again, and the alert's closing version
(``status: "closed"``) resolves that incident. The routing (integration) key
goes in the body, as the Events API requires; it comes from the route's
``routing_key_env``.
"""

from __future__ import annotations

from typing import Any

from streams.webhooks.alert_message import AlertMessage
from streams.webhooks.formats.titles import detector_title

# PagerDuty knows critical, error, warning and info.
PAGERDUTY_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
_SUMMARY_LIMIT = 1024
MAX_EVENT_IDS = 20


def pagerduty_event(alert: AlertMessage, *, routing_key: str) -> dict[str, Any]:
    """The alert message as a PagerDuty Events API v2 enqueue body."""
    if alert.closed:
        # A resolve needs no payload: it closes the incident with this dedup_key.
        return {
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": alert.alert_id,
            "client": "frtwatch",
        }
    summary = f"{detector_title(alert.detector)} ({alert.agency}/{alert.user}): {alert.summary}"
    if len(summary) > _SUMMARY_LIMIT:
        summary = summary[: _SUMMARY_LIMIT - 1] + "…"
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert.alert_id,
        "client": "frtwatch",
        "payload": {
            "summary": summary,
            "source": f"frtwatch/{alert.agency}",
            "severity": PAGERDUTY_SEVERITY[alert.severity],
            "timestamp": alert.body.get("last_seen"),
            "component": alert.detector,
            "group": alert.agency,
            "class": alert.detector,
            "custom_details": {
                "alert_id": alert.alert_id,
                "agency": alert.agency,
                "user": alert.user,
                "severity": alert.severity,
                "event_count": alert.event_count,
                "first_seen": alert.body.get("first_seen"),
                "last_seen": alert.body.get("last_seen"),
                "event_ids": alert.event_ids[:MAX_EVENT_IDS],
                "details": alert.details,
            },
        },
    }

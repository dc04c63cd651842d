"""Records for the webhook dead-letter topic (``frt.alerts.webhook-dlq``).

An alert a route could not take after every attempt, or one that could not
be delivered at all (a refused target, a disabled route, a message that is
not a valid alert), becomes one JSON record here: which route, why, after
how many attempts, where the message came from, and the alert itself, so
an operator can see what was missed and re-send it. The record is keyed by
the alert id, like the alert topic.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson

from streams.contract.alert import format_ts
from streams.webhooks.alert_message import AlertMessage

DLQ_SCHEMA = "frt.webhook-dlq.v1"


def dead_letter(
    *,
    alert: AlertMessage | None,
    raw: bytes | None,
    source: tuple[str, int, int],
    route: str | None,
    target: str | None,
    reason: str,
    error: str,
    attempts: int,
    status: int | None,
    failed_at: float | None = None,
) -> dict[str, Any]:
    """One dead-letter record (as a dict; :func:`encode` makes the message value)."""
    topic, partition, offset = source
    record: dict[str, Any] = {
        "schema": DLQ_SCHEMA,
        "route": route,
        "target": target,
        "reason": reason,
        "error": error,
        "attempts": attempts,
        "last_status": status,
        "failed_at": format_ts(round(time.time() if failed_at is None else failed_at, 3)),
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "webhook_id": alert.webhook_id if alert is not None else None,
        "alert_id": alert.alert_id if alert is not None else None,
        "alert": alert.body if alert is not None else None,
    }
    if alert is None:
        # Not an alert: keep the original bytes so nothing is lost.
        record["raw_base64"] = base64.b64encode(raw or b"").decode("ascii")
    return record


def encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record)

"""Records for the webhook dead-letter topic (``frt.alerts.webhook-dlq``).

An alert a route could not take after every attempt, or one that could not
be delivered at all (a refused target, a disabled route, a message that is
not a valid alert), becomes one JSON record here: which route, why, after
how many attempts, where the message came from, and the alert itself, so
an operator can see what was missed and re-send it. The record is keyed by
the alert id, like the alert topic.

Every record fits the broker: one larger than :data:`MAX_RECORD_BYTES` (a
malformed alert of almost 1 MiB is 4/3 larger once in base64) keeps its
bookkeeping and the start of the original bytes, with ``truncated_from`` the
size the full record would have had, the way the worker cuts its dead letters.
A record the broker refuses anyway is cut further (:func:`encode`'s ``limit``).
"""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson

from streams.contract.alert import format_ts
from streams.webhooks.alert_message import AlertMessage

DLQ_SCHEMA = "frt.webhook-dlq.v1"
MAX_RECORD_BYTES = 256 * 1024
"""Largest dead-letter value written at first (the worker keeps the same size)."""
MIN_RECORD_BYTES = 4 * 1024
"""Smallest limit :func:`encode` is asked for when the broker refuses bigger records."""
MAX_KEY_BYTES = 256
_MAX_TEXT = 1000


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


def encode(record: dict[str, Any], limit: int = MAX_RECORD_BYTES) -> bytes:
    """The message value of ``record``, at most ``limit`` bytes.

    >>> big = dead_letter(alert=None, raw=b"x" * 800_000, source=("t", 0, 7), route=None,
    ...     target=None, reason="invalid_alert", error="not JSON", attempts=0, status=None)
    >>> value = encode(big)
    >>> len(value) <= MAX_RECORD_BYTES, orjson.loads(value)["truncated_from"] > 1_000_000
    (True, True)
    """
    value = orjson.dumps(record)
    if len(value) <= limit:
        return value
    out = dict(record)
    for name in ("reason", "error", "route", "target"):
        if isinstance(out.get(name), str):
            out[name] = out[name][:_MAX_TEXT]
    raw_base64 = out.pop("raw_base64", None)
    original = (
        base64.b64decode(raw_base64)
        if raw_base64 is not None
        else orjson.dumps(out.get("alert"))  # an alert too big to keep whole
    )
    out["alert"] = None
    out["truncated_from"] = len(value)
    out["raw_bytes"] = len(original)
    out["raw_base64"] = ""
    room = max(0, limit - len(orjson.dumps(out)))
    out["raw_base64"] = base64.b64encode(original[: room // 4 * 3]).decode("ascii")
    return orjson.dumps(out)


def dead_letter_key(key: bytes | None) -> bytes | None:
    """The record key, cut so a hostile key cannot make the record too large either."""
    return None if key is None else key[:MAX_KEY_BYTES]

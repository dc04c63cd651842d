"""An ``frt.alert.v1`` message read back from the alert topic, validated for delivery.

The dispatcher trusts nothing it reads: a message that is not a valid alert
is dead-lettered, never delivered and never dropped. Validation is only as
strict as delivery needs (routing fields, timestamps for SIEM formats, an id
that is safe inside an HTTP header); unknown extra fields are kept, and the
``native`` format forwards the original bytes unchanged.

>>> msg = parse_alert_message(b'{"schema":"frt.alert.v1","alert_id":"a1","detector":"burst",'
...     b'"severity":"high","agency":"MPD","user":"u1","first_seen":"2026-03-01T09:00:00Z",'
...     b'"last_seen":"2026-03-01T09:05:00Z","event_count":7,"event_ids":["e1"],'
...     b'"summary":"u1 ran 7 searches","details":{}}')
>>> msg.webhook_id, msg.status
('frt_a1_7', 'open')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from streams.contract.alert import ALERT_SCHEMA, CLOSED, OPEN, SEVERITIES, STATUSES, silenced_by
from streams.errors import FrtwatchError

MAX_ALERT_BYTES = 1024 * 1024
# The alert id travels in the webhook-id header: keep it to characters no
# receiver or proxy mangles.
_ALERT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")
_DETECTOR = re.compile(r"[a-z][a-z0-9_]{0,63}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


class InvalidAlertError(FrtwatchError):
    """A message on the alert topic that is not a deliverable ``frt.alert.v1`` alert."""


def webhook_id_for(alert_id: str, event_count: int, status: str = OPEN) -> str:
    """The Standard Webhooks ``webhook-id`` of one published version of an alert.

    Derived from the alert id, its evidence count and its status, so a retry or a
    redelivery after a crash of the same message carries the same id (the
    receiver can deduplicate), while every other version of the alert (more
    evidence, or its close, which may have the count of the last open version)
    is a new message with a new id.

    >>> webhook_id_for("0f3a", 1), webhook_id_for("0f3a", 2), webhook_id_for("0f3a", 2, "closed")
    ('frt_0f3a_1', 'frt_0f3a_2', 'frt_0f3a_2_closed')
    """
    return f"frt_{alert_id}_{event_count}" + ("_closed" if status == CLOSED else "")


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """A validated alert: the routing fields pulled out, the whole object kept in ``body``."""

    raw: bytes
    body: dict[str, Any] = field(repr=False)
    alert_id: str
    detector: str
    severity: str
    agency: str
    user: str
    event_count: int
    first_seen: datetime
    last_seen: datetime
    summary: str
    status: str = OPEN
    """``open`` or ``closed`` (an alert's final version); absent on the topic means open."""
    exception_id: str | None = None
    """Set on an alert an exception silences: no route delivers it."""

    @property
    def webhook_id(self) -> str:
        return webhook_id_for(self.alert_id, self.event_count, self.status)

    @property
    def closed(self) -> bool:
        return self.status == CLOSED

    @property
    def severity_rank(self) -> int:
        return SEVERITIES.index(self.severity)

    @property
    def event_ids(self) -> list[str]:
        ids = self.body.get("event_ids")
        return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []

    @property
    def details(self) -> dict[str, Any]:
        details = self.body.get("details")
        return details if isinstance(details, dict) else {}


def _text(obj: dict[str, Any], name: str, limit: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidAlertError(f"field {name!r} must be a non-empty string")
    if len(value) > limit:
        raise InvalidAlertError(f"field {name!r} is longer than {limit} characters")
    return value


def _time(obj: dict[str, Any], name: str) -> datetime:
    value = _text(obj, name, 64)
    if not _RFC3339.fullmatch(value):
        raise InvalidAlertError(f"field {name!r} is not an RFC 3339 timestamp: {value[:64]!r}")
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise InvalidAlertError(f"field {name!r} is not a valid date-time ({exc})") from None


def parse_alert_message(raw: bytes | None) -> AlertMessage:
    """Decode and validate one alert-topic message; raise :class:`InvalidAlertError`."""
    if raw is None:
        raise InvalidAlertError("message has no value (null)")
    if len(raw) > MAX_ALERT_BYTES:
        raise InvalidAlertError(f"message is {len(raw)} bytes, more than {MAX_ALERT_BYTES}")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidAlertError(f"not valid UTF-8 JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise InvalidAlertError(f"alert must be a JSON object, got {type(obj).__name__}")
    if obj.get("schema") != ALERT_SCHEMA:
        raise InvalidAlertError(
            f"field 'schema' must be {ALERT_SCHEMA!r}, got {obj.get('schema')!r}"
        )
    alert_id = _text(obj, "alert_id", 128)
    if not _ALERT_ID.fullmatch(alert_id):
        raise InvalidAlertError(
            f"field 'alert_id' has characters outside [A-Za-z0-9_.:-]: {alert_id!r}"
        )
    detector = _text(obj, "detector", 64)
    if not _DETECTOR.fullmatch(detector):
        raise InvalidAlertError(f"field 'detector' is not a detector name: {detector!r}")
    severity = obj.get("severity")
    if severity not in SEVERITIES:
        raise InvalidAlertError(
            f"field 'severity' must be one of {', '.join(SEVERITIES)}, got {severity!r}"
        )
    count = obj.get("event_count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidAlertError(f"field 'event_count' must be an integer >= 1, got {count!r}")
    summary = obj.get("summary")
    if not isinstance(summary, str):
        raise InvalidAlertError("field 'summary' must be a string")
    status = obj.get("status", OPEN)
    if status not in STATUSES:
        raise InvalidAlertError(f"field 'status' must be open or closed, got {status!r}")
    return AlertMessage(
        raw=bytes(raw),
        body=obj,
        alert_id=alert_id,
        detector=detector,
        severity=str(severity),
        agency=_text(obj, "agency", 64),
        user=_text(obj, "user", 128),
        event_count=count,
        first_seen=_time(obj, "first_seen"),
        last_seen=_time(obj, "last_seen"),
        summary=summary,
        status=str(status),
        exception_id=silenced_by(obj),
    )

"""The output contract ``frt.alert.v1`` (CONTRACT.md section 2).

An alert is identified by a deterministic id derived from *what* it is about
(detector, agency, user, subject) and *when* (the start of the event-time
suppression period that holds its first evidence). Every driver, live or
replayed, before or after a crash, therefore names the same alert the same
way. A message on the alert topic whose ``alert_id`` was seen before is an
update of that alert (more evidence, later ``last_seen``), never a new one.

>>> len(make_alert_id("burst", "MPD", "u1", "", 1_700_000_000))
32
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

ALERT_SCHEMA = "frt.alert.v1"
SEVERITIES = ("low", "medium", "high", "critical")
DETECTORS = (
    "prohibited_endpoint",
    "unknown_endpoint",
    "outside_agency",
    "uncertified_user",
    "missing_case_number",
    "burst",
    "behavior_anomaly",
)
MAX_EVIDENCE_IDS = 100


def make_alert_id(detector: str, agency: str, user: str, subject: str, period_start: int) -> str:
    """Deterministic alert id: 32 hex characters of a SHA-256 over the alert's identity.

    >>> make_alert_id("burst", "MPD", "u1", "", 0) == make_alert_id("burst", "MPD", "u1", "", 0)
    True
    >>> make_alert_id("burst", "MPD", "u1", "", 0) == make_alert_id("burst", "MPD", "u2", "", 0)
    False
    """
    identity = "\x1f".join((ALERT_SCHEMA, detector, agency, user, subject, str(period_start)))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def format_ts(epoch: float) -> str:
    """Epoch seconds as RFC 3339 UTC with ``Z``; whole seconds stay whole.

    >>> format_ts(0)
    '1970-01-01T00:00:00Z'
    >>> format_ts(1.25)
    '1970-01-01T00:00:01.250000Z'
    """
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    text = moment.isoformat(timespec="seconds" if moment.microsecond == 0 else "microseconds")
    return text.replace("+00:00", "Z")


@dataclass(slots=True)
class Alert:
    """One ``frt.alert.v1`` alert. ``first_seen``/``last_seen`` are epoch seconds."""

    alert_id: str
    detector: str
    severity: str
    agency: str
    user: str
    first_seen: float
    last_seen: float
    event_count: int
    event_ids: list[str]
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": ALERT_SCHEMA,
            "alert_id": self.alert_id,
            "detector": self.detector,
            "severity": self.severity,
            "agency": self.agency,
            "user": self.user,
            "first_seen": format_ts(self.first_seen),
            "last_seen": format_ts(self.last_seen),
            "event_count": self.event_count,
            "event_ids": list(self.event_ids[:MAX_EVIDENCE_IDS]),
            "summary": self.summary,
            "details": self.details,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Alert:
        """Read an alert back from its JSON form (e.g. a consumer of ``frt.alerts``)."""
        return cls(
            alert_id=obj["alert_id"],
            detector=obj["detector"],
            severity=obj["severity"],
            agency=obj["agency"],
            user=obj["user"],
            first_seen=datetime.fromisoformat(obj["first_seen"]).timestamp(),
            last_seen=datetime.fromisoformat(obj["last_seen"]).timestamp(),
            event_count=int(obj["event_count"]),
            event_ids=list(obj.get("event_ids", [])),
            summary=obj["summary"],
            details=dict(obj.get("details", {})),
        )

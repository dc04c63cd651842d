"""The output contract ``frt.alert.v1`` (docs/CONTRACTS.md, "Alerts").

An alert is identified by a deterministic id derived from *what* it is about
(detector, agency, user, subject) and *how it opened* (the event time and id of
its opening evidence: alerts are event-time sessions, :mod:`streams.detectors.folding`).
Every driver, live or replayed, before or after a crash, therefore names the
same alert the same way. A message on the alert topic whose ``alert_id`` was
seen before is a new version of that alert (more evidence, later ``last_seen``,
or its close), never a new alert; :func:`supersedes` says which version to keep.

>>> len(make_alert_id("burst", "MPD", "u1", "", 1_700_000_000.0, "e1"))
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
OPEN, CLOSED = "open", "closed"
STATUSES = (OPEN, CLOSED)
"""``status`` of a published version: ``open`` while evidence may still come, ``closed``
once (the final version, with the final count)."""


def make_alert_id(
    detector: str, agency: str, user: str, subject: str, opened_ts: float, opened_by: str
) -> str:
    """Deterministic alert id: 32 hex characters of a SHA-256 over the alert's identity,
    which includes the event time ``opened_ts`` and event id ``opened_by`` of its opening
    evidence.

    >>> make_alert_id("burst", "MPD", "u1", "", 0, "e1") == make_alert_id("burst", "MPD", "u1", "", 0, "e1")
    True
    >>> make_alert_id("burst", "MPD", "u1", "", 0, "e1") == make_alert_id("burst", "MPD", "u2", "", 0, "e1")
    False
    >>> make_alert_id("burst", "MPD", "u1", "", 0, "e1") == make_alert_id("burst", "MPD", "u1", "", 0, "e2")
    False
    """
    identity = "\x1f".join(
        (ALERT_SCHEMA, detector, agency, user, subject, format_ts(opened_ts), opened_by)
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def version_rank(alert: dict[str, Any]) -> tuple[int, int]:
    """How far along its life a published version of an alert is: its ``event_count``,
    then closed after open. Consumers keep, per ``alert_id``, the version with the
    largest rank (a version without ``status``, from before the field, ranks as open).

    >>> version_rank({"event_count": 4, "status": "closed"}) > version_rank({"event_count": 4})
    True
    >>> version_rank({"event_count": 5}) > version_rank({"event_count": 4, "status": "closed"})
    True
    """
    count = alert.get("event_count")
    return (
        count if isinstance(count, int) and not isinstance(count, bool) else 0,
        1 if alert.get("status") == CLOSED else 0,
    )


def supersedes(new: dict[str, Any], kept: dict[str, Any] | None) -> bool:
    """Whether ``new`` replaces ``kept``, an earlier-read version of the same alert: a
    larger rank, or the same rank read later (a tie goes to the newer message).

    >>> supersedes({"event_count": 4, "status": "closed"}, {"event_count": 4, "status": "open"})
    True
    >>> supersedes({"event_count": 4, "status": "open"}, {"event_count": 4, "status": "closed"})
    False
    """
    return kept is None or version_rank(new) >= version_rank(kept)


def silenced_by(alert: dict[str, Any]) -> str | None:
    """The ``exception_id`` of an alert's JSON form when it is silenced, else None.

    >>> silenced_by({"exception_id": "exc-1"}), silenced_by({"exception_id": None}), silenced_by({})
    ('exc-1', None, None)
    """
    value = alert.get("exception_id")
    return value if isinstance(value, str) and value else None


def alert_members(user: str, event_count: int, details: Any) -> list[tuple[str, int]]:
    """The members an alert is about and how many of its searches are each one's: an
    agency-wide alert's ``details.users`` with their ``user_counts`` (a member past the
    cap of 50 is not named), else its ``user`` with all of them.

    >>> alert_members("u1", 3, {"alert_per": "agency", "users": ["u1", "u2"],
    ...                         "user_counts": {"u1": 1, "u2": 2}})
    [('u1', 1), ('u2', 2)]
    >>> alert_members("u1", 3, {})
    [('u1', 3)]
    """
    if isinstance(details, dict) and details.get("alert_per") == "agency":
        users = details.get("users")
        counts = details.get("user_counts")
        counts = counts if isinstance(counts, dict) else {}
        if isinstance(users, list) and users:
            return [(str(u), _count(counts.get(u))) for u in users]
    return [(user, event_count)]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def alert_users(alert: dict[str, Any]) -> list[str]:
    """The members an alert's JSON form is about (:func:`alert_members`)."""
    return [u for u, _ in dict_members(alert)]


def user_evidence(alert: dict[str, Any], user: str) -> int:
    """How many of an alert's (JSON form) searches are ``user``'s."""
    return sum(n for u, n in dict_members(alert) if u == user)


def dict_members(alert: dict[str, Any]) -> list[tuple[str, int]]:
    """:func:`alert_members` of an alert's JSON form."""
    count = alert.get("event_count", 0)
    return alert_members(str(alert.get("user", "")), _count(count), alert.get("details"))


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
    status: str = OPEN
    exception_id: str | None = None
    """The exception that covers this alert's evidence: the alert is *silenced* (kept for
    the record, never sent to a webhook, hidden in the console's feed by default)."""

    def to_dict(self) -> dict[str, Any]:
        out = {
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
            "status": self.status,
        }
        if self.exception_id is not None:
            out["exception_id"] = self.exception_id
        return out

    @property
    def silenced(self) -> bool:
        """Whether an exception covers this alert (see :attr:`exception_id`)."""
        return self.exception_id is not None

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @property
    def members(self) -> list[tuple[str, int]]:
        """The members this alert is about, each with their searches (:func:`alert_members`)."""
        return alert_members(self.user, self.event_count, self.details)

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
            status=CLOSED if obj.get("status") == CLOSED else OPEN,
            exception_id=silenced_by(obj),
        )

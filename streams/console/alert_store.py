"""The console's in-memory view of the alert topic, with the feed's filters.

A message whose ``alert_id`` was seen before is an update of that alert; the
version with the largest ``event_count`` wins (a tie goes to the newer
message), so redelivered or replayed older versions never roll an alert back.
The store is bounded: past ``max_alerts`` the alerts with the oldest
``last_seen`` are forgotten.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.contract.alert import (
    ALERT_SCHEMA,
    CLOSED,
    MAX_EVIDENCE_IDS,
    OPEN,
    SEVERITIES,
    Alert,
    silenced_by,
)
from streams.contract.event import parse_timestamp
from streams.errors import ContractError, FrtwatchError

SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
STATUS_FILTERS = ("open", "acknowledged", "resolved", "unresolved")
_MAX_ALERT_BYTES = 256 * 1024


class AlertFormatError(FrtwatchError):
    """A message on the alert topic that is not a valid ``frt.alert.v1`` alert."""


def _text(obj: Mapping[str, Any], name: str, limit: int, *, empty_ok: bool = False) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise AlertFormatError(f"field {name!r} must be a string")
    if (not value and not empty_ok) or len(value) > limit:
        raise AlertFormatError(f"field {name!r} must be 1-{limit} characters")
    return value


def _time(obj: Mapping[str, Any], name: str) -> float:
    try:
        return parse_timestamp(_text(obj, name, 64))
    except ContractError as exc:
        raise AlertFormatError(f"field {name!r}: {exc}") from None


def parse_alert(raw: bytes | str | None) -> Alert:
    """Validate one message value from the alert topic.

    >>> a = parse_alert(b'{"schema":"frt.alert.v1","alert_id":"a1","detector":"burst",'
    ...     b'"severity":"high","agency":"MPD","user":"u1","first_seen":"2026-03-01T09:00:00Z",'
    ...     b'"last_seen":"2026-03-01T09:05:00Z","event_count":3,"event_ids":["e1"],'
    ...     b'"summary":"s","details":{"score":0.9}}')
    >>> a.alert_id, a.event_count, a.details
    ('a1', 3, {'score': 0.9})
    """
    if raw is None:
        raise AlertFormatError("message has no value")
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > _MAX_ALERT_BYTES:
        raise AlertFormatError(f"message is {len(raw)} bytes, more than {_MAX_ALERT_BYTES}")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise AlertFormatError(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise AlertFormatError("an alert must be a JSON object")
    if obj.get("schema") != ALERT_SCHEMA:
        raise AlertFormatError(f"schema must be {ALERT_SCHEMA!r}")
    severity = _text(obj, "severity", 16)
    if severity not in SEVERITY_RANK:
        raise AlertFormatError(f"severity must be one of {', '.join(SEVERITIES)}")
    count = obj.get("event_count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise AlertFormatError("event_count must be an integer >= 0")
    ids = obj.get("event_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) and len(i) <= 256 for i in ids):
        raise AlertFormatError("event_ids must be a list of strings")
    details = obj.get("details", {})
    if not isinstance(details, dict):
        raise AlertFormatError("details must be a JSON object")
    first_seen, last_seen = _time(obj, "first_seen"), _time(obj, "last_seen")
    return Alert(
        alert_id=_text(obj, "alert_id", 256),
        detector=_text(obj, "detector", 64),
        severity=severity,
        agency=_text(obj, "agency", 256, empty_ok=True),
        user=_text(obj, "user", 256, empty_ok=True),
        first_seen=first_seen,
        last_seen=last_seen,
        event_count=count,
        event_ids=ids[:MAX_EVIDENCE_IDS],
        summary=_text(obj, "summary", 4096, empty_ok=True),
        details=details,
        status=CLOSED if obj.get("status") == CLOSED else OPEN,
        exception_id=_text(obj, "exception_id", 64) if silenced_by(obj) else None,
    )


def parse_when(text: str) -> float:
    """A filter bound: RFC 3339, or a ``datetime-local`` value read as UTC.

    >>> parse_when("2026-03-01T09:00") == parse_when("2026-03-01T09:00:00Z")
    True
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date and time: {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


SILENCED_FILTERS = ("hide", "include", "only")


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What the analyst asked the feed for. Empty fields match everything.

    ``agency`` matches exactly, ``user`` as a case-insensitive substring; the time
    range keeps alerts whose evidence overlaps ``[since, until]`` (event time).
    ``alert_id`` narrows a live stream to the one alert a page shows.
    """

    severity: str | None = None
    detector: str | None = None
    agency: str | None = None
    user: str | None = None
    status: str | None = None
    since: float | None = None
    until: float | None = None
    alert_id: str | None = None
    silenced: str = "hide"
    """Alerts an exception silences: ``hide`` (the default), ``include`` or ``only``. A
    filter for one ``alert_id`` shows it whatever this says."""
    scope: frozenset[str] | None = None
    """The agencies the viewer may see (``None``: the filter is not the viewer's, no limit;
    ``{"*"}``: all). Set from the session, never from the query."""

    def visible(self, alert: Alert) -> bool:
        """Whether the viewer may see ``alert`` at all (whatever else the filter asks)."""
        scope = self.scope
        return scope is None or "*" in scope or alert.agency in scope

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AlertFilter:
        """From URL query parameters; ``ValueError`` names a bad one."""

        def get(name: str) -> str | None:
            value = (query.get(name) or "").strip()
            return value or None

        severity, status = get("severity"), get("status")
        if severity is not None and severity not in SEVERITY_RANK:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        if status is not None and status not in STATUS_FILTERS:
            raise ValueError(f"status must be one of {', '.join(STATUS_FILTERS)}")
        since_text, until_text = get("since"), get("until")
        silenced = get("silenced") or "hide"
        if silenced not in SILENCED_FILTERS:
            raise ValueError(f"silenced must be one of {', '.join(SILENCED_FILTERS)}")
        return cls(
            severity=severity,
            detector=get("detector"),
            agency=get("agency"),
            user=get("user"),
            status=status,
            since=parse_when(since_text) if since_text else None,
            until=parse_when(until_text) if until_text else None,
            alert_id=get("alert_id"),
            silenced=silenced,
        )

    def matches(self, alert: Alert, status: str) -> bool:
        if not self.visible(alert):
            return False
        if self.alert_id is not None:
            if alert.alert_id != self.alert_id:
                return False
        elif alert.silenced != (self.silenced == "only") and self.silenced != "include":
            return False
        if self.severity is not None and alert.severity != self.severity:
            return False
        if self.detector is not None and alert.detector != self.detector:
            return False
        if self.agency is not None and alert.agency != self.agency:
            return False
        if self.user is not None:
            wanted = self.user.casefold()
            if not any(wanted in user.casefold() for user, _ in alert.members):
                return False
        if self.status is not None:
            if self.status == "unresolved":
                if status == "resolved":
                    return False
            elif status != self.status:
                return False
        if self.since is not None and alert.last_seen < self.since:
            return False
        return not (self.until is not None and alert.first_seen > self.until)


@dataclass(slots=True)
class StoredAlert:
    """An alert as the console holds it: the newest accepted version plus bookkeeping."""

    alert: Alert
    received_at: float
    seq: int
    updates: int = 1


class AlertStore:
    """Alerts by id, newest evidence first; bounded to ``max_alerts``.

    >>> store = AlertStore()
    >>> a = parse_alert(b'{"schema":"frt.alert.v1","alert_id":"a1","detector":"burst",'
    ...     b'"severity":"high","agency":"MPD","user":"u1","first_seen":"2026-03-01T09:00:00Z",'
    ...     b'"last_seen":"2026-03-01T09:05:00Z","event_count":3,"summary":"s"}')
    >>> store.upsert(a, received_at=0.0) is not None, len(store)
    (True, 1)
    """

    def __init__(self, max_alerts: int = 50_000) -> None:
        self.max_alerts = max_alerts
        self._alerts: dict[str, StoredAlert] = {}
        self._seq = itertools.count(1)
        self.rejected = 0
        self.stale_updates = 0

    def __len__(self) -> int:
        return len(self._alerts)

    def next_seq(self) -> int:
        """A new value of the store-wide change counter (also used for triage changes)."""
        return next(self._seq)

    def upsert(self, alert: Alert, *, received_at: float) -> StoredAlert | None:
        """Keep ``alert`` if it is new or at least as complete; ``None`` if it changed nothing."""
        current = self._alerts.get(alert.alert_id)
        if current is not None:
            if alert.event_count < current.alert.event_count:
                self.stale_updates += 1
                return None
            if alert == current.alert:
                return None
            current.alert = alert
            current.seq = self.next_seq()
            current.updates += 1
            return current
        stored = StoredAlert(alert=alert, received_at=received_at, seq=self.next_seq())
        self._alerts[alert.alert_id] = stored
        if len(self._alerts) > self.max_alerts:
            self._evict()
        return stored if alert.alert_id in self._alerts else None

    def _evict(self) -> None:
        # Drop the oldest tenth at once so eviction costs O(n log n) every n/10 inserts.
        keep = int(self.max_alerts * 0.9)
        ordered = sorted(self._alerts.values(), key=lambda s: s.alert.last_seen, reverse=True)
        self._alerts = {s.alert.alert_id: s for s in ordered[:keep]}

    def get(self, alert_id: str) -> StoredAlert | None:
        return self._alerts.get(alert_id)

    def all(self) -> list[StoredAlert]:
        return list(self._alerts.values())

    def query(
        self,
        flt: AlertFilter,
        status_of: Callable[[str], str],
        limit: int = 500,
        rank: Callable[[StoredAlert], float] | None = None,
    ) -> tuple[list[StoredAlert], int]:
        """Matching alerts, latest evidence first (then most severe), and how many matched;
        with ``rank``, highest rank first (e.g. the user's risk), then as before."""
        hits = [
            s for s in self._alerts.values() if flt.matches(s.alert, status_of(s.alert.alert_id))
        ]
        hits.sort(key=lambda s: (s.alert.last_seen, SEVERITY_RANK[s.alert.severity]), reverse=True)
        if rank is not None:
            hits.sort(key=rank, reverse=True)  # stable: newest first within a rank
        return hits[:limit], len(hits)

    def facets(self) -> dict[str, list[str]]:
        """Distinct agencies and detectors present, for the filter inputs."""
        agencies = sorted({s.alert.agency for s in self._alerts.values()})
        detectors = sorted({s.alert.detector for s in self._alerts.values()})
        return {"agencies": agencies[:500], "detectors": detectors[:100]}

"""One exception: who, which detector, which subject, from when until when, and why.

``scope`` is ``user`` (one agency's user) or ``agency`` (every user of the agency).
``subject`` is what the detector's alert is about (the host for
``prohibited_endpoint`` and ``unknown_endpoint``, the requesting agency for
``outside_agency``) or ``*`` for any; detectors whose alerts have no subject
(``uncertified_user``, ``missing_case_number``, ``burst``, ``behavior_anomaly``)
take ``*`` only. ``from`` and ``until`` are event times: the exception is in force
for events with ``from <= ts < until``. A date alone is read in UTC: as ``from``, the
start of that day; as ``until``, the end of it (the day is included). The ``id`` is
a SHA-256 over every other field, so the same exception stated twice is one
exception, and a changed reason or expiry is a new one.

>>> record = make_exception(scope="user", agency="MPD", user="u1",
...     detector="prohibited_endpoint", subject="trial.vendor.example",
...     valid_from="2026-03-01", until="2026-06-30", reason="vendor trial", author="lead")
>>> record.id, record.to_dict()["until"]
('exc-9e795a7442aa49cc', '2026-07-01T00:00:00Z')
>>> record.in_force(record.until - 1), record.in_force(record.until)
(True, False)
>>> record_from_dict(record.to_dict()) == record
True
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from streams.contract.alert import DETECTORS

SCOPES = ("user", "agency")
ANY = "*"
SUBJECTLESS = frozenset(("uncertified_user", "missing_case_number", "burst", "behavior_anomaly"))
"""Detectors whose alerts have no subject: their exceptions take ``*`` only."""
MAX_TEXT = 500
"""The longest reason (and the longest name, subject or author, at 200)."""
_NAME_MAX = 200
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
_ID = re.compile(r"exc-[0-9a-f]{16}")
FIELDS = ("scope", "agency", "user", "detector", "subject", "from", "until", "reason", "author")


@dataclass(frozen=True, slots=True)
class ExceptionRecord:
    """A validated exception (build one with :func:`make_exception`)."""

    id: str
    scope: str
    agency: str
    user: str | None
    """``None`` for an agency-wide exception."""
    detector: str
    subject: str
    valid_from: float
    until: float
    reason: str
    author: str

    def in_force(self, ts: float) -> bool:
        """Whether an event at ``ts`` (event time) falls under this exception's dates."""
        return self.valid_from <= ts < self.until

    def covers_subject(self, subject: str) -> bool:
        return self.subject == ANY or self.subject == subject

    def to_dict(self) -> dict[str, Any]:
        """The topic's JSON value (also what :func:`record_from_dict` reads)."""
        return {"id": self.id, **_fields(self)}

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    def describe(self) -> str:
        """One line for people: scope, detector, subject, dates and reason."""
        who = f"{self.agency}/{self.user}" if self.user is not None else f"agency {self.agency}"
        return (
            f"{self.id}  {who}  {self.detector}  {self.subject}  "
            f"{format_time(self.valid_from)} .. {format_time(self.until)}  {self.reason}"
        )


def format_time(ts: float) -> str:
    """RFC 3339 in UTC, whole seconds unless the time has a fraction."""
    moment = datetime.fromtimestamp(ts, UTC)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def parse_time(value: object, *, end_of_day: bool) -> float:
    """Epoch seconds of an RFC 3339 timestamp with offset, or of a date in UTC (its start,
    or with ``end_of_day`` its end); :class:`ValueError` otherwise."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()!r} has no time zone offset (add Z or +01:00)")
        return value.timestamp()
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid date") from None
    elif isinstance(value, str) and _TIMESTAMP.fullmatch(value):
        try:
            return datetime.fromisoformat(value.replace("z", "Z")).timestamp()
        except ValueError:
            raise ValueError(f"{value!r} is not a valid date-time") from None
    else:
        raise ValueError(
            f"{str(value)[:64]!r} is not a date (2026-06-30) or an RFC 3339 timestamp with offset"
        )
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (start + timedelta(days=1) if end_of_day else start).timestamp()


def _text(name: str, value: object, limit: int = _NAME_MAX) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} is required (non-empty text)")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{name} must not contain control characters")
    return value.strip()


def make_exception(
    *,
    scope: str,
    agency: str,
    user: str | None,
    detector: str,
    subject: str | None,
    valid_from: object,
    until: object,
    reason: str,
    author: str | None = None,
) -> ExceptionRecord:
    """A validated :class:`ExceptionRecord` with its id; :class:`ValueError` says what is wrong."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {str(scope)[:64]!r}")
    agency = _text("agency", agency)
    if scope == "user":
        user = _text("user", user)
    elif user is not None and user != "":
        raise ValueError("an agency-wide exception names no user (use scope: user)")
    else:
        user = None
    if detector not in DETECTORS:
        raise ValueError(
            f"detector must be one of {', '.join(DETECTORS)}, got {str(detector)[:64]!r}"
        )
    subject = ANY if subject is None else _text("subject", subject)
    if detector in SUBJECTLESS and subject != ANY:
        raise ValueError(f"{detector} alerts have no subject: write subject '*' (or leave it out)")
    if detector in ("prohibited_endpoint", "unknown_endpoint"):
        subject = subject.lower()
    try:
        start = parse_time(valid_from, end_of_day=False)
    except ValueError as exc:
        raise ValueError(f"from: {exc}") from None
    try:
        end = parse_time(until, end_of_day=True)
    except ValueError as exc:
        raise ValueError(f"until: {exc}") from None
    if end <= start:
        raise ValueError("until must be after from")
    reason = _text("reason", reason, MAX_TEXT)
    author = "" if author is None or author == "" else _text("author", author)
    fields = {
        "scope": scope,
        "agency": agency,
        "user": user,
        "detector": detector,
        "subject": subject,
        "from": format_time(start),
        "until": format_time(end),
        "reason": reason,
        "author": author,
    }
    digest = hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return ExceptionRecord(
        id=f"exc-{digest[:16]}",
        scope=scope,
        agency=agency,
        user=user,
        detector=detector,
        subject=subject,
        valid_from=parse_time(fields["from"], end_of_day=False),
        until=parse_time(fields["until"], end_of_day=False),
        reason=reason,
        author=author,
    )


def _fields(record: ExceptionRecord) -> dict[str, Any]:
    return {
        "scope": record.scope,
        "agency": record.agency,
        "user": record.user,
        "detector": record.detector,
        "subject": record.subject,
        "from": format_time(record.valid_from),
        "until": format_time(record.until),
        "reason": record.reason,
        "author": record.author,
    }


def record_from_dict(obj: object) -> ExceptionRecord:
    """The exception a topic value (a JSON object) states; its ``id``, if given, must be
    the one its fields hash to."""
    if not isinstance(obj, dict):
        raise ValueError("an exception is a JSON object")
    unknown = set(obj) - set(FIELDS) - {"id"}
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    for name in ("scope", "agency", "detector", "from", "until", "reason"):
        if name not in obj:
            raise ValueError(f"{name} is required")
    record = make_exception(
        scope=obj["scope"],
        agency=obj["agency"],
        user=obj.get("user"),
        detector=obj["detector"],
        subject=obj.get("subject"),
        valid_from=obj["from"],
        until=obj["until"],
        reason=obj["reason"],
        author=obj.get("author"),
    )
    given = obj.get("id")
    if given is not None and given != record.id:
        raise ValueError(f"id {str(given)[:64]!r} is not the hash of its fields ({record.id})")
    return record


def is_exception_id(text: str) -> bool:
    return bool(_ID.fullmatch(text))

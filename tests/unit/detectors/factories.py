"""Builders for detector tests: events at explicit times, certificates, policies, a driver."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Iterable
from typing import Any

from streams.contract import Alert, SearchEvent
from streams.contract.alert import format_ts
from streams.contract.event import event_from_dict
from streams.detectors import AgencyState, Engine, Outcome, UserState
from streams.policy import CertificateRegistry, Policy
from streams.policy.certifications import parse_date_start
from streams.policy.model import AGENCY_WIDE_DETECTORS

T0 = parse_date_start("2026-03-02")  # a Monday, 00:00 UTC
HOUR = 3600.0
DAY = 86400.0
APPROVED = "https://frt.county.example.gov/api/search"
_ids = itertools.count()


def at(day: float = 0, hour: float = 0, minute: float = 0, second: float = 0) -> float:
    """Epoch seconds ``day`` days, ``hour`` hours ... after T0."""
    return T0 + day * DAY + hour * HOUR + minute * 60 + second


def make_event(
    ts: float, user: str = "mpd-0012", agency: str = "MPD", **fields: Any
) -> SearchEvent:
    """A valid frt.search.v1 event that breaks no rule unless ``fields`` say otherwise."""
    obj: dict[str, Any] = {
        "event_id": f"ev-{next(_ids):07d}",
        "ts": format_ts(ts),
        "agency": agency,
        "user": user,
        "endpoint": APPROVED,
        "case_number": f"{agency}-2026-000001",
        "purpose": "investigation",
        "probe_sha256": hashlib.sha256(str(ts).encode()).hexdigest(),
        "result_count": 3,
        "source": "audit-log",
    }
    obj.update(fields)
    return event_from_dict({k: v for k, v in obj.items() if v is not ...})


def certify(registry: CertificateRegistry, *keys: str, since="2025-01-01", until="2027-12-31"):
    for key in keys:
        registry.update(key, {"certified_on": since, "expires_on": until})
    return registry


def with_detector(policy: Policy, name: str, **changes: Any) -> Policy:
    """The policy with one detector's settings changed (e.g. enabled=False)."""
    settings = dataclasses.replace(policy.detector(name), **changes)
    replaced: dict[str, Any] = {name: settings}
    return dataclasses.replace(policy, **replaced)


def per_user(policy: Policy) -> Policy:
    """The policy with every detector's alerts per user (the shipped policy makes the
    endpoint detectors' alerts agency-wide)."""
    for name in AGENCY_WIDE_DETECTORS:
        policy = with_detector(policy, name, alert_per="user")
    return policy


class Run:
    """Feeds events through one engine, keeping every user's and agency's state like a driver."""

    def __init__(self, engine: Engine, *, roundtrip: bool = False) -> None:
        self.engine = engine
        self.users: dict[str, UserState] = {}
        self.agencies: dict[str, AgencyState] = {}
        self.alerts: list[Alert] = []
        self.outcomes: list[Outcome] = []
        self.roundtrip = roundtrip  # store states as bytes between events, like a table would

    def feed(self, events: Iterable[SearchEvent]) -> list[Alert]:
        new: list[Alert] = []
        for event in events:
            user_key = event.user_key
            outcome = self.engine.process(
                self.users.get(user_key), self.agencies.get(event.agency), event
            )
            if self.roundtrip:
                self.users[user_key] = UserState.from_bytes(outcome.user_state.to_bytes())
                self.agencies[event.agency] = AgencyState.from_bytes(
                    outcome.agency_state.to_bytes()
                )
            else:
                self.users[user_key] = outcome.user_state
                self.agencies[event.agency] = outcome.agency_state
            self.outcomes.append(outcome)
            new.extend(outcome.alerts)
        self.alerts.extend(new)
        return new

    def of(self, detector: str) -> list[Alert]:
        return [a for a in self.alerts if a.detector == detector]

    def latest(self, detector: str | None = None) -> dict[str, Alert]:
        """The latest version of each alert (largest event_count), as a consumer keeps it."""
        out: dict[str, Alert] = {}
        for alert in self.alerts:
            if detector is not None and alert.detector != detector:
                continue
            kept = out.get(alert.alert_id)
            if kept is None or alert.event_count >= kept.event_count:
                out[alert.alert_id] = alert
        return out

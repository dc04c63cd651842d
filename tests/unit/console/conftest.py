"""Factories for console tests: alerts and events as they arrive on their topics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from streams.console.alert_store import parse_alert
from streams.contract.alert import Alert
from streams.contract.event import SearchEvent, parse_event


def alert_json(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema": "frt.alert.v1",
        "alert_id": "a1",
        "detector": "prohibited_endpoint",
        "severity": "critical",
        "agency": "MPD",
        "user": "u1",
        "first_seen": "2026-03-01T09:00:00Z",
        "last_seen": "2026-03-01T09:05:00Z",
        "event_count": 1,
        "event_ids": ["e1"],
        "summary": "u1 searched a prohibited service",
        "details": {"endpoint": "https://app.clearview.ai/x"},
    }
    base.update(overrides)
    return base


@pytest.fixture
def make_alert() -> Callable[..., Alert]:
    def make(**overrides: Any) -> Alert:
        return parse_alert(orjson.dumps(alert_json(**overrides)))

    return make


@pytest.fixture
def make_event() -> Callable[..., SearchEvent]:
    def make(**overrides: Any) -> SearchEvent:
        base: dict[str, Any] = {
            "event_id": "e1",
            "ts": "2026-03-01T09:00:00Z",
            "agency": "MPD",
            "user": "u1",
            "endpoint": "https://frt.county.example.gov/search",
        }
        base.update(overrides)
        return parse_event(orjson.dumps(base))

    return make

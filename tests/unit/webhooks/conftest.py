"""Factories for webhook unit tests: alerts built with the real contract class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streams.contract import Alert, make_alert_id
from streams.webhooks.alert_message import AlertMessage, parse_alert_message

T0 = 1_772_355_600.0  # 2026-03-01T09:00:00Z


def build_alert(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "detector": "prohibited_endpoint",
        "severity": "critical",
        "agency": "MPD",
        "user": "u7",
        "first_seen": T0,
        "last_seen": T0 + 60,
        "event_count": 1,
        "event_ids": ["e1"],
        "summary": "u7 searched app.clearview.ai, a prohibited FRT service",
        "details": {"endpoint": "https://app.clearview.ai/search", "host": "app.clearview.ai"},
    }
    fields.update(overrides)
    if "alert_id" not in fields:
        fields["alert_id"] = make_alert_id(
            fields["detector"], fields["agency"], fields["user"], "subject", T0, "e1"
        )
    return Alert(**fields)


@pytest.fixture
def make_message() -> Callable[..., AlertMessage]:
    """``make_message(severity="high", ...)``: a validated alert message."""

    def make(**overrides: Any) -> AlertMessage:
        return parse_alert_message(build_alert(**overrides).to_json())

    return make

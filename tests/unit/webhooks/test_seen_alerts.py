"""First message versus update, with a bounded memory."""

from __future__ import annotations

import pytest

from streams.webhooks.seen_alerts import SeenAlerts


def test_first_then_updates():
    seen = SeenAlerts()
    assert seen.observe("a") is True
    assert seen.observe("a") is False
    assert seen.observe("b") is True
    assert len(seen) == 2


def test_least_recently_seen_falls_out_first():
    seen = SeenAlerts(capacity=2)
    seen.observe("a")
    seen.observe("b")
    seen.observe("a")  # refresh a
    seen.observe("c")  # evicts b
    assert "a" in seen and "c" in seen and "b" not in seen


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        SeenAlerts(capacity=0)

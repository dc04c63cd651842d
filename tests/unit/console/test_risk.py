"""The per-user risk figure: severity weights, evidence, decay in event time, determinism."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from streams.console.risk import (
    HALF_LIFE_S,
    SEVERITY_WEIGHT,
    alert_risk,
    reference_time,
    user_risks,
)
from streams.contract.alert import Alert

DAY = 86400.0


def test_weights_rise_with_severity() -> None:
    weights = [SEVERITY_WEIGHT[s] for s in ("low", "medium", "high", "critical")]
    assert weights == sorted(weights) and len(set(weights)) == 4


def test_an_alert_halves_every_half_life_behind_the_newest_evidence(
    make_alert: Callable[..., Alert],
) -> None:
    fresh = make_alert(alert_id="new", severity="high", last_seen="2026-03-15T09:00:00Z")
    week = make_alert(alert_id="w", severity="high", user="u2", last_seen="2026-03-08T09:00:00Z")
    fortnight = make_alert(
        alert_id="f", severity="high", user="u3", last_seen="2026-03-01T09:00:00Z"
    )
    risks = user_risks([fresh, week, fortnight])
    assert risks == {("MPD", "u1"): 4.0, ("MPD", "u2"): 2.0, ("MPD", "u3"): 1.0}
    assert HALF_LIFE_S == 7 * DAY


def test_the_reference_is_event_time_so_the_figure_never_drifts(
    make_alert: Callable[..., Alert],
) -> None:
    alerts = [
        make_alert(alert_id="a", severity="critical", last_seen="2020-01-01T00:00:00Z"),
        make_alert(alert_id="b", severity="low", user="u2", last_seen="2020-01-03T12:00:00Z"),
    ]
    # Years old: still the figures of the day (no wall clock), computed twice alike.
    assert user_risks(alerts) == user_risks(list(reversed(alerts)))
    assert reference_time(alerts) == alerts[1].last_seen
    assert user_risks(alerts)[("MPD", "u1")] == round(8.0 * 0.5 ** (2.5 / 7), 3)
    # An explicit later reference decays everything together.
    later = user_risks(alerts, reference=alerts[1].last_seen + 7 * DAY)
    assert later[("MPD", "u2")] == 0.5


def test_more_evidence_counts_logarithmically_and_alerts_add_up(
    make_alert: Callable[..., Alert],
) -> None:
    one = make_alert(alert_id="x1", severity="medium", event_count=1)
    eight = make_alert(alert_id="x8", severity="medium", event_count=8)
    ref = one.last_seen
    assert alert_risk(one, ref) == 2.0 and alert_risk(eight, ref) == 8.0
    assert user_risks([one, eight]) == {("MPD", "u1"): 10.0}


def test_unknown_severities_and_odd_counts_are_read_defensively() -> None:
    odd = {"agency": "MPD", "user": "u", "severity": "extreme", "event_count": "many",
           "last_seen": "2026-03-01T09:00:00Z"}  # fmt: skip
    zero = {**odd, "severity": "low", "event_count": 0}
    assert user_risks([odd]) == {("MPD", "u"): 0.0}
    assert user_risks([zero]) == {("MPD", "u"): 1.0}
    assert user_risks([]) == {}
    assert alert_risk({"severity": "low", "last_seen": "not a time"}, 0.0) == 1.0


@pytest.mark.parametrize("days", [0.0, 3.5, 7.0, 30.0])
def test_decay_formula(days: float, make_alert: Callable[..., Alert]) -> None:
    alert = make_alert(severity="critical", event_count=4)
    got = alert_risk(alert, alert.last_seen + days * DAY)
    assert math.isclose(got, 8.0 * 3.0 * 0.5 ** (days / 7.0))

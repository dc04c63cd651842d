"""Chart data: bins, per-agency series, top users."""

from __future__ import annotations

from collections.abc import Callable

from streams.console.activity import ActivityStore
from streams.console.alert_store import AlertStore
from streams.console.stats import MAX_SERIES, OTHERS, build_stats
from streams.contract.alert import Alert
from streams.contract.event import SearchEvent

NOW = 1772359200.0  # 2026-03-01T10:00:00Z


def test_series_and_top_users(
    make_alert: Callable[..., Alert], make_event: Callable[..., SearchEvent]
) -> None:
    alerts = AlertStore()
    specs = [
        ("a1", "MPD", "u1", "low"),
        ("a2", "MPD", "u1", "critical"),
        ("a3", "CSO", "u2", "high"),
    ]
    for alert_id, agency, user, severity in specs:
        alerts.upsert(
            make_alert(alert_id=alert_id, agency=agency, user=user, severity=severity,
                       first_seen="2026-03-01T09:30:00Z", last_seen="2026-03-01T09:31:00Z"),
            received_at=0,
        )  # fmt: skip
    activity = ActivityStore()
    for i in range(3):
        activity.add(make_event(event_id=f"e{i}", ts="2026-03-01T09:45:00Z", agency="TPD"))
    stats = build_stats("1h", NOW, alerts.all(), activity)
    assert len(stats["bins"]) == 60 and stats["step_seconds"] == 60
    assert sum(stats["searches"]["TPD"]) == 3
    assert sum(stats["alerts"]["MPD"]) == 2 and sum(stats["alerts"]["CSO"]) == 1
    assert stats["top_users"][0] == {
        "agency": "MPD", "user": "u1", "alerts": 2, "worst_severity": "critical", "risk": 0.0
    }  # fmt: skip
    assert stats["totals"] == {"searches": 3, "alerts": 3, "alerts_held": 3}


def test_old_data_is_drawn_where_it_is(make_alert: Callable[..., Alert]) -> None:
    alerts = AlertStore()
    alerts.upsert(
        make_alert(first_seen="2020-01-01T00:00:00Z", last_seen="2020-01-01T00:10:00Z"),
        received_at=0,
    )
    stats = build_stats("24h", NOW, alerts.all(), ActivityStore())
    assert stats["end"].startswith("2020-01-01")
    assert stats["totals"]["alerts"] == 1


def test_many_agencies_fold_into_others(make_event: Callable[..., SearchEvent]) -> None:
    activity = ActivityStore()
    for i in range(12):
        for j in range(i + 1):
            activity.add(
                make_event(event_id=f"e{i}-{j}", agency=f"AG{i:02d}", ts="2026-03-01T09:50:00Z")
            )
    stats = build_stats("1h", NOW, [], activity)
    assert len(stats["searches"]) == MAX_SERIES
    assert OTHERS in stats["searches"]
    assert "AG11" in stats["searches"] and "AG00" not in stats["searches"]
    assert sum(sum(v) for v in stats["searches"].values()) == sum(range(1, 13))


def test_top_users_are_ranked_by_risk_when_given(make_alert: Callable[..., Alert]) -> None:
    from streams.console.risk import user_risks

    alerts = AlertStore()
    # u1: three low alerts; u2: one critical. By count u1 leads, by risk u2 does.
    specs = [
        ("l1", "u1", "low"),
        ("l2", "u1", "low"),
        ("l3", "u1", "low"),
        ("c1", "u2", "critical"),
    ]
    for alert_id, user, severity in specs:
        alerts.upsert(
            make_alert(alert_id=alert_id, user=user, severity=severity,
                       first_seen="2026-03-01T09:30:00Z", last_seen="2026-03-01T09:31:00Z"),
            received_at=0,
        )  # fmt: skip
    held = alerts.all()
    by_count = build_stats("1h", NOW, held, ActivityStore())
    assert [u["user"] for u in by_count["top_users"]] == ["u1", "u2"]
    ranked = build_stats("1h", NOW, held, ActivityStore(), risks=user_risks(a.alert for a in held))
    assert [(u["user"], u["risk"], u["alerts"]) for u in ranked["top_users"]] == [
        ("u2", 8.0, 1),
        ("u1", 3.0, 3),
    ]

"""``frtwatch alerts summary``: per alert (detector, severity, agency) and per user."""

from __future__ import annotations

import io

from streams.commands.alerts import (
    latest_per_alert,
    render_users,
    summarise,
    summarise_users,
)
from streams.console.risk import user_risks


def _alert(alert_id: str, user: str, severity: str, count: int, last_seen: str, **kw: str):
    return {"alert_id": alert_id, "detector": kw.get("detector", "burst"), "severity": severity,
            "agency": kw.get("agency", "MPD"), "user": user, "event_count": count,
            "last_seen": last_seen}  # fmt: skip


ALERTS = [
    _alert("a1", "u1", "low", 1, "2026-03-02T09:00:00Z"),
    _alert("a1", "u1", "low", 4, "2026-03-02T09:30:00Z"),  # an update: the same alert
    _alert("a2", "u1", "low", 1, "2026-03-02T10:00:00Z", detector="missing_case_number"),
    _alert("a3", "u2", "critical", 2, "2026-03-02T10:00:00Z", detector="prohibited_endpoint"),
    _alert("a4", "u/3", "high", 1, "2026-02-01T10:00:00Z", agency="SPD"),  # a month older
]


def test_per_user_rows_are_the_riskiest_first_with_the_console_figure() -> None:
    latest = list(latest_per_alert(ALERTS).values())
    rows = summarise_users(latest)
    assert [(r.agency, r.user, r.alerts, r.events, r.worst) for r in rows] == [
        ("MPD", "u2", 1, 2, "critical"),
        ("MPD", "u1", 2, 5, "low"),
        ("SPD", "u/3", 1, 1, "high"),
    ]
    risks = user_risks(latest)
    assert [r.risk for r in rows] == [risks[(r.agency, r.user)] for r in rows]
    assert rows[1].detectors == ("burst", "missing_case_number")
    # The per-alert table still counts alerts, not updates.
    assert sum(r.alerts for r in summarise(latest)) == 4


def test_the_user_table_is_plain_text_and_limited() -> None:
    rows = summarise_users(list(latest_per_alert(ALERTS).values()))
    out = io.StringIO()
    render_users(rows, out, limit=2)
    text = out.getvalue()
    assert "per user, riskiest first (2 of 3 users)" in text
    assert "u2" in text and "u/3" not in text
    everyone = io.StringIO()
    render_users(rows, everyone, limit=0)
    assert "u/3" in everyone.getvalue() and "of 3 users" not in everyone.getvalue()
    markup = summarise_users([_alert("x", "[bold]u[/bold]", "low", 1, "2026-03-02T09:00:00Z")])
    shown = io.StringIO()
    render_users(markup, shown)
    assert "[bold]u[/bold]" in shown.getvalue()  # printed as it is, not as rich markup

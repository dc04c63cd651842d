"""A per-user risk figure: the user's alerts, weighted by severity, decaying with event time.

Each alert adds ``weight(severity) * (1 + log2(event_count)) * 0.5 ** (age / half-life)``,
where ``age`` is how far (event time) the alert's newest evidence (``last_seen``) lies
behind the *reference*: the newest ``last_seen`` among the alerts considered, never the
wall clock. The same alerts therefore always give the same figures, live or replayed,
today or next year. Weights: low 1, medium 2, high 4, critical 8; the half-life is
7 days. More evidence raises an alert's share slowly (1 search: x1, 8: x4, 64: x7), so
one long-lived alert is not worth less than the flood of hourly ones it replaces, nor
worth much more. An agency-wide alert adds to each member's risk as if it were theirs
alone with their own searches in it; an alert an exception silences adds nothing.

>>> from streams.contract.alert import Alert
>>> def alert(sev, last, count=1, user="u1"):
...     return Alert(alert_id=f"{sev}{last}{user}", detector="burst", severity=sev,
...                  agency="MPD", user=user, first_seen=last, last_seen=last,
...                  event_count=count, event_ids=[], summary="")
>>> risks = user_risks([alert("high", 7 * 86400.0), alert("critical", 0.0, 8, "u2")])
>>> risks[("MPD", "u1")], risks[("MPD", "u2")]   # 4 now; 8 x 4 a half-life ago
(4.0, 16.0)
>>> alert_risk(alert("low", 0.0), reference=14 * 86400.0)
0.25
>>> user_risks([{"agency": "MPD", "user": "u3", "severity": "medium", "event_count": 2,
...              "last_seen": "2026-03-02T09:00:00Z"}])   # alert JSON works too
{('MPD', 'u3'): 4.0}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from streams.contract.alert import Alert, dict_members

SEVERITY_WEIGHT: dict[str, float] = {"low": 1.0, "medium": 2.0, "high": 4.0, "critical": 8.0}
HALF_LIFE_S = 7 * 86400.0


def _field(alert: Any, name: str, default: Any) -> Any:
    """An alert field, from an :class:`~streams.contract.alert.Alert` or a dict (read
    defensively: fields may be added to the contract)."""
    if isinstance(alert, dict):
        return alert.get(name, default)
    return getattr(alert, name, default)


def _time(value: Any, default: float) -> float:
    """Event time in epoch seconds from a number or an RFC 3339 string (as in alert JSON)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        from streams.contract.event import parse_timestamp
        from streams.errors import ContractError

        try:
            return parse_timestamp(value)
        except ContractError:
            return default
    return default


def alert_risk(
    alert: Any, reference: float, half_life_s: float = HALF_LIFE_S, count: int | None = None
) -> float:
    """One alert's share of its user's risk, ``reference`` seconds (event time) being now;
    ``count`` is the user's searches in it when not all of them (an agency-wide alert)."""
    weight = SEVERITY_WEIGHT.get(str(_field(alert, "severity", "")), 0.0)
    if count is None:
        count = _field(alert, "event_count", 1)
    count = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
    age = max(0.0, reference - _time(_field(alert, "last_seen", None), reference))
    return weight * (1.0 + math.log2(count)) * 0.5 ** (age / half_life_s)


def reference_time(alerts: Iterable[Any]) -> float | None:
    """The newest ``last_seen`` among ``alerts`` (None for no alerts)."""
    times = (_time(_field(a, "last_seen", None), -math.inf) for a in alerts)
    newest = max(times, default=-math.inf)
    return newest if newest > -math.inf else None


def user_risks(
    alerts: Iterable[Any], reference: float | None = None, half_life_s: float = HALF_LIFE_S
) -> dict[tuple[str, str], float]:
    """Risk per ``(agency, user)`` over ``alerts``; the reference defaults to their newest
    ``last_seen``. Figures are rounded to 3 decimals (stable to compare and show)."""
    alerts = list(alerts)
    if reference is None:
        reference = reference_time(alerts)
    if reference is None:
        return {}
    totals: dict[tuple[str, str], float] = {}
    for alert in alerts:
        if _field(alert, "exception_id", None):
            continue  # an exception covers it: expected, no risk
        agency = str(_field(alert, "agency", ""))
        for user, count in members(alert):
            key = (agency, user)
            totals[key] = totals.get(key, 0.0) + alert_risk(alert, reference, half_life_s, count)
    return {key: round(value, 3) for key, value in totals.items()}


def members(alert: Any) -> list[tuple[str, int]]:
    """The users an alert (an :class:`~streams.contract.alert.Alert` or its JSON form) is
    about, each with their searches in it: an agency-wide alert counts for each member."""
    return alert.members if isinstance(alert, Alert) else dict_members(alert)


def alert_user_risk(alert: Any, risks: dict[tuple[str, str], float]) -> float:
    """The risk an alert is ranked by: its user's, or its riskiest member's."""
    agency = str(_field(alert, "agency", ""))
    return max((risks.get((agency, user), 0.0) for user, _ in members(alert)), default=0.0)

"""Numbers behind the analytics charts: searches and alerts over time per agency, top users.

Time is event time. The charts end at the present when there is recent data,
otherwise at the newest data seen, so a replayed historical topic still draws.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from streams.console.activity import ActivityStore
from streams.console.alert_store import SEVERITY_RANK, StoredAlert
from streams.contract.alert import format_ts

# range name -> (seconds covered, bin width)
RANGES: dict[str, tuple[int, int]] = {
    "1h": (3600, 60),
    "6h": (6 * 3600, 300),
    "24h": (24 * 3600, 1200),
}
MAX_SERIES = 8
OTHERS = "(others)"


def _top_series(series: dict[str, list[int]], bins: int) -> dict[str, list[int]]:
    """At most ``MAX_SERIES`` lines: the busiest agencies, the rest summed."""
    ranked = sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    out = dict(ranked[: MAX_SERIES - 1]) if len(ranked) > MAX_SERIES else dict(ranked)
    rest = ranked[MAX_SERIES - 1 :] if len(ranked) > MAX_SERIES else []
    if rest:
        out[OTHERS] = [sum(row[i] for _, row in rest) for i in range(bins)]
    return out


def chart_end(now: float, newest: float | None, span: int) -> float:
    """Where the time axis ends: now, unless all data is older than the range.

    >>> chart_end(1000.0, 990.0, 60), chart_end(1000.0, 100.0, 60), chart_end(1000.0, None, 60)
    (1000.0, 100.0, 1000.0)
    """
    if newest is None or newest >= now - span:
        return now
    return newest


def build_stats(
    range_name: str,
    now: float,
    alerts: list[StoredAlert],
    activity: ActivityStore,
    top_n: int = 10,
    sees: Callable[[str], bool] | None = None,
    risks: Mapping[tuple[str, str], float] | None = None,
) -> dict[str, Any]:
    """The JSON the analytics page draws; ``sees`` limits it to the viewer's agencies
    (``alerts`` must be limited by the caller). The top users are the riskiest by
    ``risks`` (:mod:`streams.console.risk`, over every held alert of the scope), then by
    alerts in the range; without ``risks``, by alerts in the range."""
    span, step = RANGES[range_name]
    newest_alert = max((s.alert.last_seen for s in alerts), default=None)
    candidates = [t for t in (newest_alert, activity.newest_ts) if t is not None]
    end_raw = chart_end(now, max(candidates) if candidates else None, span)
    end = (int(end_raw // step) + 1) * step
    start = end - span
    bins = span // step

    alert_series: dict[str, list[int]] = {}
    users: Counter[tuple[str, str]] = Counter()
    worst: dict[tuple[str, str], str] = {}
    for stored in alerts:
        alert = stored.alert
        if not (start <= alert.first_seen < end) or alert.silenced:
            continue  # silenced: an exception covers it
        row = alert_series.setdefault(alert.agency, [0] * bins)
        row[int((alert.first_seen - start) // step)] += 1
        for user, _ in alert.members:  # an agency-wide alert counts for each member
            key = (alert.agency, user)
            users[key] += 1
            if SEVERITY_RANK[alert.severity] > SEVERITY_RANK.get(worst.get(key, "low"), 0):
                worst[key] = alert.severity
            worst.setdefault(key, alert.severity)

    searches = activity.counts(start, end, step)
    if sees is not None:
        searches = {agency: row for agency, row in searches.items() if sees(agency)}
    risk = risks or {}
    ranked = sorted(users.items(), key=lambda kv: (-risk.get(kv[0], 0.0), -kv[1], kv[0]))
    top_users = [
        {
            "agency": agency,
            "user": user,
            "alerts": count,
            "worst_severity": worst[(agency, user)],
            "risk": risk.get((agency, user), 0.0),
        }
        for (agency, user), count in ranked[:top_n]
    ]
    return {
        "range": range_name,
        "step_seconds": step,
        "start": format_ts(start),
        "end": format_ts(end),
        "bins": [format_ts(start + i * step) for i in range(bins)],
        "searches": _top_series(searches, bins),
        "alerts": _top_series(alert_series, bins),
        "top_users": top_users,
        "totals": {
            "searches": sum(sum(r) for r in searches.values()),
            "alerts": sum(users.values()),
            "alerts_held": len(alerts),
        },
    }

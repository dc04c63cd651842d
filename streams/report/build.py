"""The replay report: one self-contained HTML page and the compliance CSV.

Sections, in the order an analyst reads them: what was replayed; searches
per agency per day and per system; top users; alerts by detector and
severity over time; the behaviour model's score distribution; the compliance
rollup (also written as ``compliance.csv``); and, for a what-if run, which
alerts appeared or disappeared against the baseline run.

Days are each agency's local calendar days, in the time zones the run's policy gives
(``agencies.<CODE>.timezone``, recorded in the manifest as ``policy.timezones``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from models.features import LocalHours
from streams.contract.alert import DETECTORS, SEVERITIES, alert_users, silenced_by
from streams.report import charts
from streams.report.compliance import COUNT_COLUMNS, compliance_rollup, scope, write_compliance_csv
from streams.report.page import document, facts, image, paragraph, section, table

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
REPORT_HTML = "report.html"
COMPLIANCE_CSV = "compliance.csv"
TOP_USERS = 25
TOP_SYSTEMS = 20
TOP_ALERTS = 50

_LABELS = {
    "searches": "searches",
    "users": "users",
    "uncertified_users": "uncertified users",
    "no_case_number": "no case number",
    "missing_case_number_violation": "no case number (not exempt)",
    "on_behalf_of_other": "for another agency",
    "on_behalf_of_not_allowed": "for another agency (no agreement)",
    "unauthorised_system": "unauthorised system",
    "prohibited_system": "prohibited system",
    "unknown_system": "unknown system",
    "uncertified_user": "by uncertified user",
}


@dataclass(slots=True)
class ReportInputs:
    """Everything the report shows; built by the replay, or read back from a run directory."""

    tally: pd.DataFrame
    alerts: list[dict[str, Any]]
    scores: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))
    threshold: float | None = None
    run: dict[str, Any] = field(default_factory=dict)
    diff: dict[str, Any] | None = None


def write_report(out_dir: Path, inputs: ReportInputs) -> list[Path]:
    """Write ``report.html`` and ``compliance.csv`` into ``out_dir``; return their paths."""
    rollup = compliance_rollup(inputs.tally)
    csv_path = out_dir / COMPLIANCE_CSV
    write_compliance_csv(rollup, csv_path)
    html_path = out_dir / REPORT_HTML
    tmp = html_path.with_name(html_path.name + ".tmp")
    tmp.write_text(render_report(inputs, rollup), encoding="utf-8")
    tmp.replace(html_path)
    return [html_path, csv_path]


def render_report(inputs: ReportInputs, rollup: pd.DataFrame | None = None) -> str:
    rollup = compliance_rollup(inputs.tally) if rollup is None else rollup
    parts = [
        _run_section(inputs),
        _searches_section(inputs.tally),
        _users_section(inputs.tally, inputs.alerts),
        _alerts_section(inputs.alerts, local_hours_of(inputs.run)),
        _scores_section(inputs),
        _compliance_section(rollup),
    ]
    if inputs.diff is not None:
        parts.append(_diff_section(inputs.diff))
    return document("frtwatch replay report", *parts)


def _run_section(inputs: ReportInputs) -> str:
    run = inputs.run
    requested = run.get("requested", {})
    covered = run.get("covered", {})
    source = run.get("source", {})
    where = (
        f"topic {source.get('topic')} on {source.get('bootstrap')}"
        if source.get("kind") == "kafka"
        else f"file {source.get('path')}"
        if source.get("kind") == "file"
        else "?"
    )
    model = run.get("model") or {}
    total = int(inputs.tally["searches"].sum()) if len(inputs.tally) else 0
    pairs: list[tuple[str, object]] = [
        ("status", run.get("status", "?")),
        (
            "requested range",
            f"{requested.get('from') or 'start'} to {requested.get('to') or 'end'}",
        ),
        ("covered range", f"{covered.get('from') or 'start'} to {covered.get('to') or 'end'}"),
        ("source", where),
        ("policy", (run.get("policy") or {}).get("path", "?")),
        ("model", model.get("path") or "none (behaviour detector not scored)"),
        ("searches", f"{total:,}"),
        ("alerts", f"{len(inputs.alerts):,}"),
    ]
    parts = [facts(pairs)]
    if run.get("status") == "partial":
        parts.insert(
            0,
            paragraph("This run was interrupted: the numbers cover only the range above.", "warn"),
        )
    for warning in run.get("warnings", []):
        parts.append(paragraph(str(warning), "warn"))
    return section("Run", *parts)


def _searches_section(tally: pd.DataFrame) -> str:
    if tally.empty:
        return section("Searches", paragraph("No searches in the range."))
    daily = tally.pivot_table(
        index="day", columns="agency", values="searches", aggfunc="sum", fill_value=0
    ).sort_index()
    per_agency = (
        tally.groupby("agency")
        .agg(searches=("searches", "sum"), days=("day", "nunique"))
        .sort_values("searches", ascending=False)
    )
    per_day = daily.max()
    rows = [
        [agency, int(row.searches), int(row.days), int(per_day.get(agency, 0))]
        for agency, row in per_agency.iterrows()
    ]
    agency_part = section(
        "Per agency per day",
        image(charts.daily_lines(daily, "Searches per agency per local day", "searches"), "chart"),
        table(
            ["agency", "searches", "active days", "busiest day"], rows, [False, True, True, True]
        ),
        level=3,
    )
    systems = (
        tally.groupby(["host", "system_status"])
        .agg(
            searches=("searches", "sum"), agencies=("agency", "nunique"), users=("user", "nunique")
        )
        .reset_index()
        .sort_values(["searches", "host"], ascending=[False, True])
    )
    top = systems.head(TOP_SYSTEMS)
    system_part = section(
        "Per system (endpoint host)",
        image(
            charts.horizontal_bars(
                top["host"].tolist(),
                top["searches"].astype(int).tolist(),
                top["system_status"].tolist(),
                "Searches per system",
            ),
            "chart",
        ),
        table(
            ["system", "status", "searches", "agencies", "users"],
            (
                [r.host, r.system_status, int(r.searches), int(r.agencies), int(r.users)]
                for r in systems.itertuples()
            ),
            [False, False, True, True, True],
        ),
        level=3,
    )
    return section("Searches", agency_part, system_part)


def _users_section(tally: pd.DataFrame, alerts: Sequence[dict[str, Any]]) -> str:
    if tally.empty:
        return section("Top users", paragraph("No searches in the range."))
    frame = tally.assign(
        unauth=tally["searches"].where(tally["unauthorised_system"], 0),
        nocase=tally["searches"].where(tally["missing_case_number_violation"], 0),
        other=tally["searches"].where(tally["on_behalf_of_other"], 0),
        uncert=tally["searches"].where(tally["uncertified_user"], 0),
    )
    users = (
        frame.groupby(["agency", "user"])[["searches", "unauth", "nocase", "other", "uncert"]]
        .sum()
        .reset_index()
    )
    alert_counts: dict[tuple[str, str], int] = {}
    for alert in alerts:
        if silenced_by(alert) is not None:
            continue  # an exception covers it
        for user in alert_users(alert):  # an agency-wide alert is each member's
            key = (str(alert.get("agency")), user)
            alert_counts[key] = alert_counts.get(key, 0) + 1
    users["alerts"] = [
        alert_counts.get((a, u), 0) for a, u in zip(users["agency"], users["user"], strict=True)
    ]
    users = users.sort_values(["searches", "agency", "user"], ascending=[False, True, True])
    rows = [
        [r.agency, r.user, int(r.searches), int(r.unauth), int(r.nocase), int(r.other),
         int(r.uncert), int(r.alerts)]
        for r in users.head(TOP_USERS).itertuples()
    ]  # fmt: skip
    return section(
        f"Top {TOP_USERS} users by searches",
        table(
            [
                "agency",
                "user",
                "searches",
                "unauthorised system",
                "no case number",
                "for another agency",
                "uncertified",
                "alerts",
            ],
            rows,
            [False, False, True, True, True, True, True, True],
        ),
    )


def local_hours_of(run: dict[str, Any]) -> LocalHours:
    """The agencies' time zones a run judged with (its manifest's ``policy.timezones``);
    UTC for a manifest without them."""
    zones = (run.get("policy") or {}).get("timezones")
    if not isinstance(zones, dict):
        return LocalHours()
    try:
        return LocalHours(dict(zones["agencies"]), str(zones["default"]))
    except (TypeError, KeyError, ValueError, ZoneInfoNotFoundError):
        return LocalHours()


def _local_date(hours: LocalHours, agency: str, first_seen: str) -> date:
    ts = pd.Timestamp(first_seen).timestamp()
    return date.fromordinal(_EPOCH_ORDINAL + hours.day(agency, ts))


def _alert_frame(alerts: Sequence[dict[str, Any]], hours: LocalHours | None = None) -> pd.DataFrame:
    """Alerts by detector, severity and the agency-local day they were first seen."""
    hours = hours or LocalHours()
    frame = pd.DataFrame(
        [
            {
                "detector": a.get("detector", "?"),
                "severity": a.get("severity", "?"),
                "day": _local_date(hours, str(a.get("agency")), str(a.get("first_seen"))),
            }
            for a in alerts
        ],
        columns=["detector", "severity", "day"],
    )
    return frame


def _alerts_section(alerts: Sequence[dict[str, Any]], hours: LocalHours | None = None) -> str:
    silenced = sum(silenced_by(a) is not None for a in alerts)
    alerts = [a for a in alerts if silenced_by(a) is None]
    if silenced:
        note = paragraph(f"{silenced} silenced alert(s), covered by exceptions, are not "
                         "counted here.")  # fmt: skip
        return _alerts_section(alerts, hours).replace("</h2>", "</h2>" + note, 1)
    if not alerts:
        return section("Alerts", paragraph("No alerts in the range."))
    frame = _alert_frame(alerts, hours)
    counts = frame.groupby(["detector", "severity"]).size()
    severities = [s for s in SEVERITIES if s in set(frame["severity"])]
    detectors = [d for d in DETECTORS if d in set(frame["detector"])] + sorted(
        set(frame["detector"]) - set(DETECTORS)
    )
    rows = [
        [
            d,
            *[int(counts.get((d, s), 0)) for s in severities],
            int(counts.get(d, pd.Series()).sum()),
        ]
        for d in detectors
    ]
    by_detector = frame.pivot_table(
        index="day", columns="detector", values="severity", aggfunc="size", fill_value=0
    ).sort_index()
    by_severity = frame.pivot_table(
        index="day", columns="severity", values="detector", aggfunc="size", fill_value=0
    ).sort_index()
    by_severity = by_severity[[s for s in SEVERITIES if s in by_severity.columns]]
    rank = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    ordered = sorted(
        alerts,
        key=lambda a: (
            rank.get(str(a.get("severity")), 9),
            -int(a.get("event_count", 0)),
            str(a.get("first_seen")),
            str(a.get("alert_id")),
        ),
    )
    listing = table(
        ["first seen", "detector", "severity", "agency", "user", "evidence", "summary"],
        (
            [a.get("first_seen"), a.get("detector"), a.get("severity"), a.get("agency"),
             a.get("user"), int(a.get("event_count", 0)), a.get("summary")]
            for a in ordered[:TOP_ALERTS]
        ),
        [False, False, False, False, False, True, False],
    )  # fmt: skip
    return section(
        "Alerts",
        table(["detector", *severities, "total"], rows, [False] + [True] * (len(severities) + 1)),
        image(charts.daily_stacked(by_detector, "Alerts per day by detector"), "chart"),
        image(
            charts.daily_stacked(
                by_severity, "Alerts per day by severity", charts.SEVERITY_COLOURS
            ),
            "chart",
        ),
        section(f"Most serious alerts (up to {TOP_ALERTS})", listing, level=3),
    )


def _scores_section(inputs: ReportInputs) -> str:
    scores = inputs.scores
    source = "every scored search"
    if scores.size == 0:
        scores = np.array(
            [
                float(a["details"]["score"])
                for a in inputs.alerts
                if a.get("detector") == "behavior_anomaly"
                and isinstance(a.get("details"), dict)
                and isinstance(a["details"].get("score"), int | float)
            ],
            dtype=np.float32,
        )
        source = "behaviour alerts only (the model did not run in this replay)"
    if scores.size == 0:
        return section(
            "Behaviour model scores", paragraph("No behaviour scores: the model did not run.")
        )
    threshold = inputs.threshold
    above = int((scores >= threshold).sum()) if threshold is not None else None
    pairs: list[tuple[str, object]] = [
        ("scores shown", f"{scores.size:,} ({source})"),
        ("median", f"{float(np.median(scores)):.4f}"),
        ("99th percentile", f"{float(np.quantile(scores, 0.99)):.4f}"),
    ]
    if threshold is not None:
        pairs += [("threshold", f"{threshold:.4f}"), ("at or above", f"{above:,}")]
    return section(
        "Behaviour model scores",
        facts(pairs),
        image(charts.score_histogram(scores, threshold, "Anomaly score distribution"), "chart"),
    )


def _compliance_rows(
    frame: pd.DataFrame, keys: Sequence[str]
) -> tuple[list[str], list[list[object]], list[bool]]:
    columns = [*keys, "users", "uncertified_users", *COUNT_COLUMNS]
    headers = [_LABELS.get(c, c) for c in columns]
    rows = [[int(v) if c not in keys else v for c, v in zip(columns, row, strict=True)]
            for row in frame[columns].itertuples(index=False)]  # fmt: skip
    return headers, rows, [c not in keys for c in columns]


def _compliance_section(rollup: pd.DataFrame) -> str:
    parts = [
        paragraph(
            "Counts of searches (distinct users where marked). The same numbers, with "
            "agency x system and agency x purpose breakdowns, are in compliance.csv.",
            "note",
        )
    ]
    for name, title, keys in (
        ("all", "All agencies", []),
        ("agency", "Per agency", ["agency"]),
        ("system", "Per system", ["system"]),
        ("purpose", "By purpose", ["purpose"]),
    ):
        headers, rows, numeric = _compliance_rows(scope(rollup, name), keys)
        parts.append(section(title, table(headers, rows, numeric), level=3))
    return section("Compliance rollup", *parts)


def _diff_section(diff: dict[str, Any]) -> str:
    counts = diff.get("counts", {})
    rows = [
        [
            d,
            r.get("appeared", 0),
            r.get("disappeared", 0),
            r.get("changed", 0),
            r.get("unchanged", 0),
        ]
        for d, r in diff.get("by_detector", {}).items()
    ]
    listing = table(
        ["change", "detector", "agency", "user", "first seen", "summary"],
        (
            [what, a.get("detector"), a.get("agency"), a.get("user"), a.get("first_seen"),
             a.get("summary")]
            for what in ("appeared", "disappeared")
            for a in diff.get(what, [])[:TOP_ALERTS]
        ),
    )  # fmt: skip
    return section(
        "What changed against the baseline run",
        facts(
            [
                ("baseline", diff.get("baseline")),
                ("appeared", counts.get("appeared", 0)),
                ("disappeared", counts.get("disappeared", 0)),
                ("changed evidence or severity", counts.get("changed", 0)),
                ("unchanged", counts.get("unchanged", 0)),
            ]
        ),
        table(
            ["detector", "appeared", "disappeared", "changed", "unchanged"],
            rows,
            [False, True, True, True, True],
        ),
        listing,
    )

"""The report's days are each agency's local days, in the policy's time zones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from streams.contract.event import event_from_dict
from streams.policy import CertificateRegistry, load_policy
from streams.report.build import _alert_frame, local_hours_of
from streams.report.tally import SearchTally
from streams.settings import DEFAULT_POLICY


def _policy(tmp_path: Path) -> Path:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    text = text.replace("default_timezone: UTC", "default_timezone: America/Chicago")
    text = text.replace(
        "csv: certifications.csv", f"csv: {DEFAULT_POLICY.parent}/certifications.csv"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _event(ts: str) -> object:
    return event_from_dict({"event_id": ts, "ts": ts, "agency": "MPD", "user": "u1",
                            "endpoint": "https://frt.county.example.gov/s"})  # fmt: skip


def test_searches_count_on_the_agencys_own_calendar_day(tmp_path: Path) -> None:
    # 03:00 UTC on 3 March is 21:00 on 2 March in Chicago; 07:00 UTC is 01:00 on 3 March.
    events = [_event("2026-03-03T03:00:00Z"), _event("2026-03-03T07:00:00Z")]
    chicago = SearchTally(load_policy(_policy(tmp_path)), CertificateRegistry())
    utc = SearchTally(load_policy(DEFAULT_POLICY), CertificateRegistry())
    for event in events:
        chicago.add(event)  # type: ignore[arg-type]
        utc.add(event)  # type: ignore[arg-type]

    def per_day(tally: SearchTally) -> dict[date, int]:
        frame = tally.to_frame()
        return {d: int(n) for d, n in frame.groupby("day")["searches"].sum().items()}

    assert per_day(chicago) == {date(2026, 3, 2): 1, date(2026, 3, 3): 1}
    assert per_day(utc) == {date(2026, 3, 3): 2}


def test_alerts_are_dated_by_the_zones_the_run_recorded(tmp_path: Path) -> None:
    alerts = [{"detector": "burst", "severity": "high", "agency": "MPD",
               "first_seen": "2026-03-03T03:00:00Z"}]  # fmt: skip
    run = {"policy": {"timezones": load_policy(_policy(tmp_path)).local_hours().describe()}}
    assert list(_alert_frame(alerts, local_hours_of(run))["day"]) == [date(2026, 3, 2)]
    # a manifest written before time zones were recorded: UTC days
    assert list(_alert_frame(alerts, local_hours_of({"policy": {}}))["day"]) == [date(2026, 3, 3)]

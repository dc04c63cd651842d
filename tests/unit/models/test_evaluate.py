"""Time-to-first-alert of a run's behaviour alerts against a truth file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.evaluate import alert_timing, main

START = "2026-03-12T02:00:00Z"


def _write(tmp: Path, alerts: list[dict[str, object]]) -> tuple[Path, Path]:
    truth = {
        "schema": "frtwatch.truth.v1",
        "users": [{"agency": "MPD", "user": u} for u in ("a", "b", "c", "d")],
        "incidents": [
            {"id": "inc-1", "detector": "behavior_anomaly", "kind": "night_fishing",
             "agency": "MPD", "users": ["a"], "start": START},
            {"id": "inc-2", "detector": "behavior_anomaly", "kind": "odd_hours",
             "agency": "MPD", "users": ["b"], "start": START},
            {"id": "inc-3", "detector": "burst", "kind": "loud_burst",
             "agency": "MPD", "users": ["c"], "start": START},
        ],
    }  # fmt: skip
    (tmp / "truth.json").write_text(json.dumps(truth))
    run = tmp / "run"
    run.mkdir()
    (run / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alerts))
    return tmp, run


def _alert(
    user: str, first: str, last: str, detector: str = "behavior_anomaly"
) -> dict[str, object]:
    return {"detector": detector, "agency": "MPD", "user": user, "first_seen": first,
            "last_seen": last, "details": {"score": 0.7, "threshold": 0.6}}  # fmt: skip


def test_delay_counts_from_the_incident_start_to_the_first_covering_alert(tmp_path: Path) -> None:
    world, run = _write(tmp_path, [
        _alert("a", "2026-03-10T01:00:00Z", "2026-03-10T01:00:00Z"),  # before: not this incident
        _alert("a", "2026-03-14T14:00:00Z", "2026-03-14T15:00:00Z"),
        _alert("a", "2026-03-13T14:00:00Z", "2026-03-13T14:00:00Z"),  # the first covering one
        _alert("c", "2026-03-12T03:00:00Z", "2026-03-12T03:00:00Z"),  # a rule incident's user
        _alert("d", "2026-03-15T03:00:00Z", "2026-03-15T03:00:00Z"),  # no incident at all
        _alert("d", "2026-03-16T03:00:00Z", "2026-03-16T03:00:00Z", detector="burst"),
    ])  # fmt: skip
    timing = alert_timing(world / "truth.json", run / "alerts.jsonl")
    a, b = timing.incidents
    assert (a.incident, a.first_alert, a.delay_days) == ("inc-1", "2026-03-13T14:00:00Z", 1.5)
    assert b.first_alert is None and b.delay_days is None
    assert (timing.found, timing.recall, timing.delay_max_days) == (1, 0.5, 1.5)
    assert (timing.normal_users, timing.normal_users_alerted, timing.normal_alerts) == (1, 1, 1)
    assert timing.false_alarm_users == ["MPD/d"]


def test_a_fold_opened_just_before_the_start_counts_as_no_delay(tmp_path: Path) -> None:
    world, run = _write(tmp_path, [_alert("b", "2026-03-12T01:59:00Z", "2026-03-12T02:30:00Z")])
    timing = alert_timing(world / "truth.json", run / "alerts.jsonl")
    assert timing.incidents[1].delay_days == 0.0 and timing.found == 1


def test_command_prints_json_per_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world, run = _write(tmp_path, [_alert("b", "2026-03-12T08:00:00Z", "2026-03-12T08:00:00Z")])
    assert main(["--world", str(world), "--run", str(run), "--json"]) == 0
    (figures,) = json.loads(capsys.readouterr().out)
    assert figures["found"] == 1 and figures["delay_median_days"] == 0.25


def test_command_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world, _ = _write(tmp_path, [])
    assert main(["--world", str(world), "--run", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read alerts file" in err
    assert main(["--world", str(world), "--world", str(world), "--run", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_another_detector_is_timed_against_its_own_incidents(tmp_path: Path) -> None:
    world, run = _write(tmp_path, [
        _alert("a", "2026-03-13T14:00:00Z", "2026-03-13T14:00:00Z"),  # behaviour: not counted
        _alert("c", "2026-03-12T03:00:00Z", "2026-03-12T03:10:00Z", detector="burst"),
        _alert("d", "2026-03-16T03:00:00Z", "2026-03-16T03:00:00Z", detector="burst"),
    ])  # fmt: skip
    timing = alert_timing(world / "truth.json", run / "alerts.jsonl", "burst")
    (c,) = timing.incidents
    assert (c.incident, c.delay_days, timing.recall) == ("inc-3", round(1 / 24, 3), 1.0)
    assert timing.false_alarm_users == ["MPD/d"]

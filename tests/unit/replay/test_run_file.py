"""Whole replay runs over a JSONL file: alerts, manifest, range filter, partial output, what-if."""

from __future__ import annotations

import math
import random
from datetime import datetime
from pathlib import Path

import orjson
import pandas as pd
import pytest
import yaml

from streams.replay import ReplayOptions, TimeRange, judging, read_manifest, run_replay
from streams.replay.alert_store import read_alert_records
from streams.replay.sources import FileSource
from streams.settings import DEFAULT_POLICY
from tests.unit.report.handmade import COUNTY, EVENTS, make_event, write_world

EXPECTED = {
    "missing_case_number": 1,  # h02 (h03 is training: exempt)
    "outside_agency": 1,  # h07: CSO for MPD
    "prohibited_endpoint": 1,  # h04
    "uncertified_user": 2,  # MPD/u2 (h04+h05, one hour), UPD/p1 (h10)
    "unknown_endpoint": 2,  # h06 (CSO on SPD's system), h10 (vendor)
}


def _options(tmp_path: Path, events: list[dict] | None = None, **changes: object) -> ReplayOptions:
    """Options for a file replay of the hand-made world (no HTML report unless asked)."""
    events_path, certs = write_world(tmp_path / "world", events)
    options = ReplayOptions(
        out_dir=tmp_path / "run",
        time_range=TimeRange(),
        policy_path=DEFAULT_POLICY,
        from_file=events_path,
        certifications=certs,
        progress=False,
        report=False,
    )
    for name, value in changes.items():
        setattr(options, name, value)
    return options


def test_a_run_writes_alerts_report_and_a_complete_manifest(tmp_path: Path) -> None:
    result = run_replay(_options(tmp_path, report=True))
    out = tmp_path / "run"
    for name in ("alerts.jsonl", "alerts.parquet", "searches.parquet", "report.html",
                 "compliance.csv", "run.json"):  # fmt: skip
        assert (out / name).is_file(), name
    manifest = read_manifest(out)
    assert manifest == result.manifest
    assert manifest["status"] == "complete"
    assert manifest["processed"] == {
        "events": 9, "duplicates": 1, "late": 0, "excepted": 0, "scored": 0, "failed": 0,
    }  # fmt: skip
    assert manifest["alerts"]["by_detector"] == EXPECTED
    assert manifest["read"]["messages"] == 10 and manifest["read"]["invalid_messages"] == 0
    assert manifest["events_time_span"] == {
        "first": "2026-03-02T09:00:00Z",
        "last": "2026-03-03T12:00:00Z",
    }
    alerts = read_alert_records(out)
    assert len(alerts) == sum(EXPECTED.values())
    uncertified = [a for a in alerts if a["detector"] == "uncertified_user" and a["user"] == "u2"]
    assert uncertified[0]["event_count"] == 2
    assert sorted(uncertified[0]["event_ids"]) == ["h04", "h05"]


def test_identical_input_gives_identical_files(tmp_path: Path) -> None:
    run_replay(_options(tmp_path / "a"))
    run_replay(_options(tmp_path / "b"))
    for name in ("alerts.jsonl", "searches.parquet"):
        assert (tmp_path / "a/run" / name).read_bytes() == (tmp_path / "b/run" / name).read_bytes()


def test_the_alerts_do_not_depend_on_input_order(tmp_path: Path) -> None:
    """A shuffled file is out of time order within its one partition: the events behind
    the watermark join the alerts they belong to. The alerts and their final counts are
    the same; an alert's id may name other opening evidence (docs/ARCHITECTURE.md)."""
    run_replay(_options(tmp_path / "sorted"))
    shuffled = list(EVENTS)
    random.Random(3).shuffle(shuffled)
    run_replay(_options(tmp_path / "shuffled", shuffled))

    def alerts(name: str) -> list[tuple[str, str, str, int]]:
        return sorted((a["detector"], a["agency"], a["user"], a["event_count"])
                      for a in read_alert_records(tmp_path / name / "run"))  # fmt: skip

    assert alerts("sorted") == alerts("shuffled") and len(alerts("sorted")) == 7


def test_only_events_whose_own_time_is_in_the_range_are_judged(tmp_path: Path) -> None:
    options = _options(tmp_path, time_range=TimeRange.parse("2026-03-03", "2026-03-03T12:00:00Z"))
    manifest = run_replay(options).manifest
    # h08 and its duplicate are in; h10 at exactly 12:00 is not (the end is exclusive).
    assert manifest["read"]["events_in_range"] == 2
    assert manifest["read"]["events_out_of_range"] == 8
    assert manifest["processed"]["events"] == 1 and manifest["processed"]["duplicates"] == 1
    assert manifest["requested"] == {"from": "2026-03-03T00:00:00Z", "to": "2026-03-03T12:00:00Z"}
    assert manifest["alerts"]["total"] == 0


def test_invalid_lines_are_counted_with_their_reasons(tmp_path: Path) -> None:
    options = _options(tmp_path)
    assert options.from_file is not None
    with options.from_file.open("ab") as handle:
        handle.write(b'{"event_id": "bad"}\nnot json at all\n\n')
    manifest = run_replay(options).manifest
    assert manifest["read"]["invalid_messages"] == 2
    assert manifest["read"]["invalid_reasons"]["missing required field 'ts'"] == 1
    assert any("invalid message" in w for w in manifest["warnings"])
    assert manifest["processed"]["events"] == 9


def test_a_stopped_run_writes_consistent_partial_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FileSource, "CHUNK_BYTES", 600)  # a few events per read
    batches = 0

    def stop_after_two_batches() -> bool:
        nonlocal batches
        batches += 1
        return batches > 2

    result = run_replay(_options(tmp_path), should_stop=stop_after_two_batches)
    manifest = read_manifest(tmp_path / "run")
    assert result.partial and manifest["status"] == "partial"
    assert manifest["warnings"][0].startswith("partial run")
    covered_to = manifest["covered"]["to"]
    assert covered_to is not None and _when(covered_to) < _when("2026-03-03T12:00:00Z")
    processed = manifest["processed"]["events"]
    assert 0 < processed < 9
    # Every written alert is backed by evidence from before the covered end.
    alerts = read_alert_records(tmp_path / "run")
    assert all(_when(a["last_seen"]) < _when(covered_to) for a in alerts)
    assert len(alerts) < sum(EXPECTED.values())
    searches = pd.read_parquet(tmp_path / "run" / "searches.parquet")["searches"].sum()
    assert searches == processed  # the report's tally holds what was judged, no more
    assert manifest["position"]["line"] < len(EVENTS)


def test_what_if_a_detector_is_switched_off(tmp_path: Path) -> None:
    base = _options(tmp_path / "base")
    run_replay(base)
    policy = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    policy["detectors"]["missing_case_number"]["enabled"] = False
    policy["certifications"]["csv"] = str(base.certifications)
    policy["detectors"]["behavior_anomaly"]["model"] = str(DEFAULT_POLICY.parent / "absent.skops")
    what_if_policy = tmp_path / "what-if.yaml"
    what_if_policy.write_text(yaml.safe_dump(policy), encoding="utf-8")
    lines: list[str] = []
    result = run_replay(
        _options(tmp_path / "new", policy_path=what_if_policy, diff_dir=base.out_dir, report=True),
        say=lines.append,
    )
    assert result.diff is not None
    assert [result.diff.baseline[i]["detector"] for i in result.diff.disappeared_ids] == [
        "missing_case_number"
    ]
    assert result.diff.appeared_ids == [] and result.diff.changed_ids == []
    saved = orjson.loads((tmp_path / "new/run/diff.json").read_bytes())
    assert saved["by_detector"]["missing_case_number"]["disappeared"] == 1
    assert any("1 disappeared" in line for line in lines)
    assert "What changed against the baseline run" in (tmp_path / "new/run/report.html").read_text(
        encoding="utf-8"
    )


def test_a_stop_inside_a_large_release_covers_up_to_the_first_event_not_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(judging, "SLICE", 3)
    calls = 0

    def stop_after_the_first_slice() -> bool:
        nonlocal calls
        calls += 1
        return calls > 1  # the source asks first, then the run after each slice

    manifest = run_replay(_options(tmp_path), should_stop=stop_after_the_first_slice).manifest
    assert manifest["status"] == "partial"
    assert manifest["processed"]["events"] == 3  # h01-h03
    assert manifest["covered"]["to"] == "2026-03-02T10:00:00Z"  # h04, the first not judged
    alerts = read_alert_records(tmp_path / "run")
    assert [a["detector"] for a in alerts] == ["missing_case_number"]  # h02 only


def _when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_a_warm_up_judges_the_range_as_a_worker_with_history_did(tmp_path: Path) -> None:
    """A newcomer's burst on day 9: judged only once the agency has a week of history."""
    events = [
        make_event(f"{user}-{day}-{hour}", f"2026-03-{2 + day:02d}T{hour:02d}:15:00Z", "MPD",
                   user, COUNTY)
        for day in range(9) for user in ("u2", "u3", "u1x") for hour in (9, 13)
    ]  # fmt: skip
    events += [
        make_event(f"u1-{i}", f"2026-03-10T10:{2 * i:02d}:00Z", "MPD", "u1", COUNTY)
        for i in range(25)
    ]
    events.sort(key=lambda e: e["ts"])

    def bursts(name: str, start: str | None, warmup_s: float) -> tuple[set[str], dict]:
        options = _options(tmp_path / name, events, time_range=TimeRange.parse(start, None))
        options.warmup_s = warmup_s
        manifest = run_replay(options).manifest
        ids = {
            a["alert_id"] for a in read_alert_records(options.out_dir) if a["detector"] == "burst"
        }
        return ids, manifest

    everything, _ = bursts("all", None, 0.0)
    cold, _ = bursts("cold", "2026-03-10", 0.0)
    warm, manifest = bursts("warm", "2026-03-10", 8 * 86400.0)
    assert len(everything) == 1
    assert cold == set()  # the agency's watch looks young: newcomers are not judged yet
    assert warm == everything
    assert manifest["warmup"] == {"from": "2026-03-02T00:00:00Z", "events": 48}  # 8 days x 6
    assert manifest["processed"]["events"] == 31  # the warm-up is not reported
    assert manifest["events_time_span"]["first"] == "2026-03-10T09:15:00Z"

    def uncertified(name: str) -> dict[str, str]:
        return {a["alert_id"]: a["first_seen"] for a in read_alert_records(tmp_path / name / "run")
                if a["detector"] == "uncertified_user"}  # fmt: skip

    # An alert opened in the warm-up and still open in the range is the worker's alert:
    # same id, same opening.
    assert uncertified("warm") and uncertified("warm").items() <= uncertified("all").items()


def _burst_world(with_2099: bool) -> list[dict]:
    """The hand-made world, then 60 searches in 40 minutes by one user (a burst from day
    one), optionally after one search of theirs dated 2099."""
    events = list(EVENTS)
    if with_2099:
        events.append(make_event("f2099", "2099-01-01T00:00:00Z", "MPD", "u9", COUNTY))
    events += [
        make_event(f"b{i:02d}", f"2026-03-03T14:{i * 40 // 60:02d}:{i * 40 % 60:02d}Z",
                   "MPD", "u9", COUNTY)
        for i in range(60)
    ]  # fmt: skip
    return events


def test_an_event_dated_2099_in_a_file_does_not_blind_the_burst(tmp_path: Path) -> None:
    from streams.replay.sources import AHEAD_OF_START

    def bursts(run: Path) -> list[str]:
        alerts = [orjson.loads(line) for line in (run / "alerts.jsonl").read_bytes().splitlines()]
        return sorted({a["alert_id"] for a in alerts if a["detector"] == "burst"})

    clean = run_replay(_options(tmp_path / "clean", _burst_world(False)))
    assert bursts(tmp_path / "clean" / "run"), "the burst alone must fire"
    poisoned = run_replay(_options(tmp_path / "poisoned", _burst_world(True)))
    assert bursts(tmp_path / "poisoned" / "run") == bursts(tmp_path / "clean" / "run")
    assert poisoned.manifest["read"]["invalid_reasons"] == {AHEAD_OF_START: 1}
    assert clean.manifest["alerts"] == poisoned.manifest["alerts"]
    # Control: without the bound the one event blinds the user's burst.
    run_replay(_options(tmp_path / "unbounded", _burst_world(True), max_clock_skew_s=math.inf))
    assert bursts(tmp_path / "unbounded" / "run") == []

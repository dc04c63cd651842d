"""Backtesting: which alert ids appear or disappear between two runs, by detector."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.errors import FrtwatchError
from streams.replay.alert_store import read_alert_records
from streams.replay.diff import diff_alerts


def alert(
    alert_id: str, detector: str, count: int = 1, severity: str = "high", **extra: object
) -> dict[str, object]:
    return {
        "alert_id": alert_id, "detector": detector, "event_count": count, "severity": severity,
        "agency": "MPD", "user": "u1", "first_seen": "2026-03-02T09:00:00Z", "summary": "s",
        **extra,
    }  # fmt: skip


def test_appeared_disappeared_changed_and_unchanged_by_detector() -> None:
    baseline = [alert("a", "burst"), alert("b", "burst"), alert("c", "unknown_endpoint", 2),
                alert("d", "outside_agency")]  # fmt: skip
    new = [alert("a", "burst"), alert("c", "unknown_endpoint", 4), alert("e", "unknown_endpoint"),
           alert("f", "missing_case_number"), alert("d", "outside_agency", severity="critical")]  # fmt: skip
    diff = diff_alerts(new, baseline)
    assert diff.appeared_ids == ["e", "f"]
    assert diff.disappeared_ids == ["b"]
    assert diff.changed_ids == ["c", "d"]
    assert diff.unchanged_ids == ["a"]
    assert diff.by_detector() == {
        "burst": {"appeared": 0, "disappeared": 1, "changed": 0, "unchanged": 1},
        "missing_case_number": {"appeared": 1, "disappeared": 0, "changed": 0, "unchanged": 0},
        "outside_agency": {"appeared": 0, "disappeared": 0, "changed": 1, "unchanged": 0},
        "unknown_endpoint": {"appeared": 1, "disappeared": 0, "changed": 1, "unchanged": 0},
    }
    out = diff.to_dict("new", "old")
    assert out["counts"] == {"appeared": 2, "disappeared": 1, "changed": 2, "unchanged": 1}
    assert [a["alert_id"] for a in out["disappeared"]] == ["b"]
    assert out["changed"][0]["baseline_event_count"] == 2
    text = "\n".join(diff.lines())
    assert "2 appeared, 1 disappeared, 2 changed, 1 unchanged" in text
    assert "unknown_endpoint" in text


def test_identical_runs_have_an_empty_diff() -> None:
    runs = [alert("a", "burst"), alert("b", "uncertified_user")]
    diff = diff_alerts(runs, list(runs))
    assert (diff.appeared_ids, diff.disappeared_ids, diff.changed_ids) == ([], [], [])


def test_alert_files_fold_repeated_ids_to_the_latest(tmp_path: Path) -> None:
    """A raw capture of an alert topic has one line per emission; the latest one counts."""
    path = tmp_path / "alerts.jsonl"
    lines = [alert("a", "burst", 1), alert("a", "burst", 4), alert("a", "burst", 2),
             alert("b", "burst", 1)]  # fmt: skip
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines) + b"\n")
    records = read_alert_records(tmp_path)
    assert [(r["alert_id"], r["event_count"]) for r in records] == [("a", 4), ("b", 1)]


def test_a_broken_alert_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"alert_id": "a", "event_count": 1}\nnot json\n', encoding="utf-8")
    with pytest.raises(FrtwatchError, match=r"alerts.jsonl:2: not an frt.alert.v1 alert"):
        read_alert_records(path)
    with pytest.raises(FrtwatchError, match="cannot read alerts"):
        read_alert_records(tmp_path / "missing.jsonl")

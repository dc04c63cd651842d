"""python -m models.separation: the figures of a simulated world, end to end, and their parts."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from models.separation import after_end, incident_spans, main
from streams.contract.alert import format_ts

DAY = 86_400.0
T0 = 1_772_409_600.0


def test_one_small_world_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keep = tmp_path / "keep"
    code = main(["--seeds", "5", "--users", "120", "--days", "14", "--keep", str(keep), "--json"])
    assert code == 0
    captured = capsys.readouterr()
    assert "[separation] seed 5: simulating 120 users, 14 days" in captured.err
    (figures,) = json.loads(captured.out)
    truth = json.loads((keep / "seed-5" / "world" / "truth.json").read_text())
    behaviour = [i for i in truth["incidents"] if i["detector"] == "behavior_anomaly"]
    assert figures["incidents"] == sum(len(i["users"]) for i in behaviour) == 3
    assert figures["found"] == len(figures["delays_days"]) == 3 - len(figures["missed"])
    assert len(figures["margins"]) == 3
    # a user is found exactly when some row of theirs during the incident crossed the threshold
    assert (min(figures["margins"]) >= 0) == (figures["found"] == 3)
    assert figures["normal_users"] == len(truth["users"]) - len(
        {(i["agency"], u) for i in truth["incidents"] for u in i["users"]}
    )
    assert (keep / "seed-5" / "run" / "alerts.jsonl").is_file()


def test_an_existing_keep_directory_is_refused(tmp_path: Path) -> None:
    assert main(["--keep", str(tmp_path)]) == 2


def _alert(alert_id: str, user: str, first: float, last: float) -> bytes:
    return orjson.dumps({"alert_id": alert_id, "detector": "behavior_anomaly", "agency": "MPD",
                         "user": user, "first_seen": format_ts(first),
                         "last_seen": format_ts(last)})  # fmt: skip


def test_alerts_after_the_end_are_counted_once_per_alert(tmp_path: Path) -> None:
    truth = {"incidents": [{"detector": "behavior_anomaly", "agency": "MPD", "users": ["a"],
                            "start": format_ts(T0), "end": format_ts(T0 + 2 * DAY)}]}  # fmt: skip
    spans = incident_spans(truth)
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(b"\n".join([
        _alert("in", "a", T0 + DAY, T0 + 3 * DAY),  # opened during, grew a day past the end
        _alert("late", "a", T0 + 4 * DAY, T0 + 4 * DAY),
        _alert("late", "a", T0 + 4 * DAY, T0 + 4.5 * DAY),  # a later version of the same
        _alert("other", "b", T0 + 9 * DAY, T0 + 9 * DAY),  # not an incident user
    ]))  # fmt: skip
    assert after_end(path, spans) == (1, 1, 2.5)

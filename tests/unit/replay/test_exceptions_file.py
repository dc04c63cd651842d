"""A file replay with ``--exceptions FILE``: the file's scope raises only a silenced alert
(naming the exception), the rest alerts as before."""

from __future__ import annotations

from pathlib import Path

from streams.replay import ReplayOptions, TimeRange, run_replay
from streams.replay.alert_store import read_alert_records
from streams.settings import DEFAULT_POLICY
from tests.unit.report.handmade import write_world

EXCEPTIONS = """\
version: 1
exceptions:
  - scope: user
    agency: MPD
    user: u2
    detector: prohibited_endpoint
    subject: app.clearview.ai
    from: 2026-03-02T09:00:00Z
    until: 2026-03-02T11:00:00Z
    reason: vendor evaluation
"""


def _run(tmp_path: Path, name: str, exceptions: Path | None) -> tuple[list[dict], dict]:
    events, certs = write_world(tmp_path / "world")
    result = run_replay(ReplayOptions(
        out_dir=tmp_path / name, time_range=TimeRange(), policy_path=DEFAULT_POLICY,
        from_file=events, certifications=certs, progress=False, report=False,
        exceptions_file=exceptions,
    ))  # fmt: skip
    return read_alert_records(tmp_path / name), result.manifest


def test_a_replay_with_an_exceptions_file(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text(EXCEPTIONS, encoding="utf-8")
    plain, plain_manifest = _run(tmp_path, "plain", None)
    records, manifest = _run(tmp_path, "quiet", path)
    quiet = [a for a in records if "exception_id" not in a]
    silenced = {a["alert_id"] for a in plain} - {a["alert_id"] for a in quiet}
    assert [
        (a["detector"], a["user"], a["event_ids"]) for a in plain if a["alert_id"] in silenced
    ] == [("prohibited_endpoint", "u2", ["h04"])]
    assert {a["alert_id"] for a in quiet} < {a["alert_id"] for a in plain}
    # The covered finding is an alert of its own that names the exception.
    assert [(a["detector"], a["user"], a["event_ids"]) for a in records
            if "exception_id" in a] == [("prohibited_endpoint", "u2", ["h04"])]  # fmt: skip
    # h04's other finding (an uncertified user) still alerts.
    assert any(a["detector"] == "uncertified_user" and "h04" in a["event_ids"] for a in quiet)
    assert manifest["processed"]["excepted"] == 1
    assert plain_manifest["processed"]["excepted"] == 0
    assert manifest["exceptions"]["path"] == str(path) and manifest["exceptions"]["count"] == 1
    assert manifest["exceptions"]["topic"] is None

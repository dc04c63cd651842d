"""Ctrl-C during ``frtwatch replay`` leaves consistent partial output, marked as partial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import orjson

from streams.simulate import SimulationConfig, simulate

FRTWATCH = Path(sys.executable).with_name("frtwatch")


def test_ctrl_c_writes_what_was_judged_and_marks_the_run_partial(tmp_path: Path) -> None:
    world = tmp_path / "world"
    result = simulate(SimulationConfig(users=1800, days=14, seed=3, start=date(2026, 3, 2)), world)
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    proc = subprocess.Popen(
        [str(FRTWATCH), "replay", "--from-file", str(world / "events.jsonl"),
         "--certifications", str(world / "certifications.csv"), "--out", str(out), "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let it judge a few slices
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 130, stdout + stderr
    assert "stopping after the current batch" in stderr
    manifest = orjson.loads((out / "run.json").read_bytes())
    assert manifest["status"] == "partial"
    assert 0 < manifest["processed"]["events"] < result.event_count
    covered_to = manifest["covered"]["to"]
    assert covered_to is not None and _when(covered_to) < _when(result.truth["end"])
    alerts = [orjson.loads(line) for line in (out / "alerts.jsonl").read_bytes().splitlines()]
    assert all(_when(a["last_seen"]) < _when(covered_to) for a in alerts)
    assert len(alerts) == manifest["alerts"]["total"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "This run was interrupted" in html
    assert not list(out.glob("*.tmp"))


def _when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()

"""``frtwatch replay --jobs N`` writes what one process writes (streams/replay/parallel.py).

A simulated world (every incident kind, decoys, several agencies) with a behaviour model,
a bad line and a repeated event, judged with a warm-up, in small batches so that many
batches and model calls are merged: one process against two and three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from models.dataset import read_events_file
from models.train import train_to_file
from streams.replay.parallel import assign
from streams.replay.run import ReplayOptions, run_replay
from streams.replay.timerange import TimeRange
from streams.settings import DEFAULT_POLICY
from streams.simulate import SimulationConfig, simulate

OUTPUTS = ("alerts.jsonl", "alerts.parquet", "searches.parquet", "scores.parquet")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("parallel")
    simulate(SimulationConfig(users=120, days=14), root / "world")
    events = root / "world" / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    # A bad record and a repeated event among the others.
    lines.insert(len(lines) // 3, b'{"event_id": "bad"}\n')
    lines.insert(len(lines) // 2, lines[len(lines) // 2 - 5])
    events.write_bytes(b"".join(lines))
    model = root / "model" / "behavior.skops"
    train_to_file(read_events_file(events), model, seed=7)
    return {"events": events, "certs": root / "world" / "certifications.csv", "model": model}


def replay(world: dict[str, Path], out: Path, jobs: int) -> dict[str, Any]:
    options = ReplayOptions(
        out_dir=out,
        time_range=TimeRange.parse("2026-03-05", "2026-03-16"),
        policy_path=DEFAULT_POLICY,
        from_file=world["events"],
        certifications=world["certs"],
        model_path=world["model"],
        warmup_s=3 * 86400.0,
        progress=False,
        report=False,
        score_batch=700,
        jobs=jobs,
    )
    manifest = run_replay(options).manifest
    for key in ("started_at", "finished_at", "speed", "out_dir", "source"):
        manifest.pop(key, None)
    return manifest


def test_parallel_judging_writes_what_one_process_writes(
    world: dict[str, Path], tmp_path: Path
) -> None:
    serial = replay(world, tmp_path / "serial", jobs=1)
    assert serial["alerts"]["total"] > 10 and len(serial["alerts"]["by_detector"]) >= 5
    assert serial["processed"]["scored"] > 1000 and serial["processed"]["duplicates"] == 1
    assert serial["read"]["invalid_messages"] == 1 and serial["warmup"]["events"] > 1000
    for jobs in (2, 3):
        parallel = replay(world, tmp_path / f"jobs{jobs}", jobs=jobs)
        assert parallel == serial
        for name in OUTPUTS:
            assert (tmp_path / f"jobs{jobs}" / name).read_bytes() == (
                tmp_path / "serial" / name
            ).read_bytes(), name
    agencies = {orjson.loads(line)["agency"] for line in world["events"].read_bytes().splitlines()
                if b'"agency"' in line}  # fmt: skip
    assert len(agencies) >= 3  # so that every process had agencies to judge


def test_agencies_go_busiest_first_to_the_least_loaded_process() -> None:
    from collections import Counter

    share: dict[str, int] = {}
    load = [0, 0]
    assign(Counter({"MPD": 73, "TPD": 42, "UPD": 41, "CSO": 25, "SPD": 18}), load, share)
    assert share == {"MPD": 0, "TPD": 1, "UPD": 1, "CSO": 0, "SPD": 1}
    assert load == [98, 101]

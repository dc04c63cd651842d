"""Replay throughput over the benchmark's topic, next to a raw kafka-python read of it.

Reuses :mod:`streams.replay.bench`: its raw loop has the replay's own
consumer settings (the ceiling for any kafka-python reader), and the replay
is :func:`streams.replay.run_replay` with the same policy, certificates and
model as the worker, without the HTML report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from streams.replay.bench import raw_loop
from streams.replay.run import ReplayOptions, run_replay
from streams.replay.timerange import TimeRange


def measure_replay(
    bootstrap: str,
    topic: str,
    *,
    start: str,
    end: str,
    policy: Path,
    certifications: Path,
    model: Path,
    out_dir: Path,
) -> dict[str, Any]:
    raw = raw_loop(bootstrap, topic, parse=False)
    options = ReplayOptions(
        out_dir=out_dir,
        time_range=TimeRange.parse(start, end),
        policy_path=policy,
        bootstrap=bootstrap,
        topic=topic,
        certifications=certifications,
        model_path=model,
        progress=False,
        report=False,
    )
    began = time.perf_counter()
    result = run_replay(options)
    total = time.perf_counter() - began
    speed = result.manifest["speed"]
    events = result.manifest["read"]["events_in_range"]
    elapsed = float(speed["elapsed_s"])
    return {
        "raw_kafka_python": {
            "records": raw.records,
            "seconds": round(raw.seconds, 3),
            "events_per_s": round(raw.rate, 1),
        },
        "replay": {
            "events": events,
            "seconds": round(elapsed, 3),
            "events_per_s": round(events / elapsed, 1) if elapsed > 0 else None,
            "detect_s": speed.get("detect_s"),
            "read_parse_merge_s": speed.get("read_parse_merge_s"),
            "with_outputs_s": round(total, 3),
            "alerts": result.manifest["alerts"]["total"],
        },
    }

"""Replay throughput over the benchmark's topic, next to raw reads of it by each client.

Reuses :mod:`streams.replay.bench`: raw read loops with confluent-kafka (the
replay's reader, with its settings: the ceiling for the replay's reads),
aiokafka and kafka-python, one after the other; then the replay, which is
:func:`streams.replay.run_replay` with the same policy, certificates and model
as the worker, without the HTML report, once in one process and once with
``jobs=2`` (:mod:`streams.replay.parallel`), whose outputs are compared with the
first's. ``replay_over_raw_read`` is the replay's rate over the raw read of its own
reader, measured in the same run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from streams.replay.bench import Timing, raw_reads
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
    raws = raw_reads(bootstrap, topic)
    reader = raws[0]
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
    out: dict[str, Any] = {_KEYS[t.name]: _raw(t) for t in raws}
    for jobs, key in ((1, "replay"), (2, "replay_jobs_2")):
        options.jobs = jobs
        options.out_dir = out_dir / f"jobs-{jobs}"
        began = time.perf_counter()
        result = run_replay(options)
        total = time.perf_counter() - began
        speed = result.manifest["speed"]
        events = result.manifest["read"]["events_in_range"]
        elapsed = float(speed["elapsed_s"])
        rate = events / elapsed if elapsed > 0 else None
        out[key] = {
            "jobs": jobs,
            "events": events,
            "seconds": round(elapsed, 3),
            "events_per_s": round(rate, 1) if rate is not None else None,
            "detect_s": speed.get("detect_s"),
            "read_parse_merge_s": speed.get("read_parse_merge_s"),
            "with_outputs_s": round(total, 3),
            "alerts": result.manifest["alerts"]["total"],
            "reader": "confluent-kafka",
            "replay_over_raw_read": round(rate / reader.rate, 3) if rate is not None else None,
        }
    same = all(
        (out_dir / "jobs-1" / name).read_bytes() == (out_dir / "jobs-2" / name).read_bytes()
        for name in ("alerts.jsonl", "searches.parquet", "scores.parquet")
    )
    out["replay_jobs_2"]["outputs_equal_jobs_1"] = same
    return out


_KEYS = {
    "raw confluent-kafka loop": "raw_confluent_kafka",
    "raw aiokafka loop": "raw_aiokafka",
    "raw kafka-python loop": "raw_kafka_python",
}


def _raw(timing: Timing) -> dict[str, Any]:
    return {
        "records": timing.records,
        "seconds": round(timing.seconds, 3),
        "events_per_s": round(timing.rate, 1),
    }

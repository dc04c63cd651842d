"""The benchmark's input: a simulated world cut into a bulk part and a live part, and a model.

The simulator's mix (ordinary work of occasional users, regulars and
analysts, plus its incidents and decoys) is what the worker meets in
production, so every phase reads it: the first ``events`` lines are loaded
onto a topic before any consumer starts (throughput), the next
``live_events`` are offered at a fixed rate afterwards (latency). The
behaviour model is trained with ``frtwatch model train`` on the world's
baseline (every event before its first incident), as an operator would.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from streams.settings import DEFAULT_POLICY
from streams.simulate.baseline import baseline_end

EVENTS_PER_USER = 121.0
"""Events one simulated user makes in 14 days (measured: 242,724 for 2,000 users)."""
DAYS = 14
FRTWATCH = Path(sys.executable).with_name("frtwatch")


@dataclass(frozen=True, slots=True)
class Workload:
    """Files one benchmark run reads."""

    events: Path
    """The first ``event_count`` events of the world (the bulk load)."""
    live: Path
    """The events that follow them (offered at a fixed rate for the latency phase)."""
    certifications: Path
    policy: Path
    """The shipped policy with the world's certificates and the trained model."""
    model: Path
    truth: dict[str, Any]
    event_count: int
    live_count: int
    user_count: int
    model_seconds: float


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_frtwatch(*args: str) -> str:
    """Run a ``frtwatch`` command; its output, or a RuntimeError with its stderr."""
    done = subprocess.run([str(FRTWATCH), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"frtwatch {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


def _simulate(total: int, seed: int, out: Path) -> tuple[Path, int, dict[str, Any]]:
    """A 14-day world with at least ``total`` events (more users until it has)."""
    from streams.simulate import SimulationConfig, simulate
    from streams.simulate.world import MAX_USERS, MIN_USERS, SimulationError

    users = max(MIN_USERS, math.ceil(total / EVENTS_PER_USER * 1.05))
    while True:
        world = out / "world"
        if world.exists():
            import shutil

            shutil.rmtree(world)
        try:
            result = simulate(
                SimulationConfig(seed=seed, users=min(users, MAX_USERS), days=DAYS), world
            )
        except SimulationError:
            # An incident drawn with no searches (a behaviour change planned only on
            # days its user did not search): another world size draws it again.
            if users >= MAX_USERS:
                raise
            users = math.ceil(users * 1.03)
            continue
        if result.event_count >= total or users >= MAX_USERS:
            return world, result.user_count, result.truth
        users = math.ceil(users * 1.2 * total / result.event_count)


def _split(source: Path, first: int, second: int, a: Path, b: Path) -> tuple[int, int]:
    counts = [0, 0]
    with source.open("rb") as lines, a.open("wb") as out_a, b.open("wb") as out_b:
        for line in lines:
            if counts[0] < first:
                out_a.write(line)
                counts[0] += 1
            elif counts[1] < second:
                out_b.write(line)
                counts[1] += 1
            else:
                break
    return counts[0], counts[1]


def write_policy(target: Path, model: Path | None, certifications: Path) -> Path:
    """The shipped policy with absolute paths to ``certifications`` and ``model``, and
    prohibited-endpoint alerts per user (the latency probes').

    Without a model the behaviour detector is turned off.
    """
    data = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    behaviour = data["detectors"]["behavior_anomaly"]
    behaviour["enabled"] = model is not None
    if model is None:
        behaviour.pop("model", None)
    else:
        behaviour["model"] = str(model.resolve())
    data["certifications"]["csv"] = str(certifications.resolve())
    # The latency phase's probes each need an alert of their own (streams.bench.latency):
    # the shipped policy folds an agency's prohibited-endpoint searches into one alert.
    data["detectors"].setdefault("prohibited_endpoint", {})["alert_per"] = "user"
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def build_workload(out: Path, events: int, live_events: int, seed: int = 7) -> Workload:
    """Simulate, split, train; everything under ``out``."""
    import time

    out.mkdir(parents=True, exist_ok=True)
    world, users, truth = _simulate(events + live_events, seed, out)
    bulk, live = out / "events.jsonl", out / "live.jsonl"
    n_bulk, n_live = _split(world / "events.jsonl", events, live_events, bulk, live)
    first_incident = _epoch(baseline_end(truth))
    cut = datetime.fromtimestamp(first_incident).astimezone().isoformat()
    model = out / "model" / "behavior.skops"
    began = time.perf_counter()
    run_frtwatch("model", "train", "--from-file", str(bulk), "--to", cut, "--out", str(model))
    model_s = time.perf_counter() - began
    certifications = world / "certifications.csv"
    policy = write_policy(out / "policy.yaml", model, certifications)
    return Workload(
        events=bulk,
        live=live,
        certifications=certifications,
        policy=policy,
        model=model,
        truth=truth,
        event_count=n_bulk,
        live_count=n_live,
        user_count=users,
        model_seconds=model_s,
    )


def describe(workload: Workload) -> dict[str, Any]:
    """The workload as recorded in the results file."""
    from models.artifact import card_path

    truth = workload.truth
    card = json.loads(card_path(workload.model).read_text(encoding="utf-8"))
    return {
        "events": workload.event_count,
        "live_events": workload.live_count,
        "simulated_users": workload.user_count,
        "simulated_days": DAYS,
        "seed": truth.get("seed"),
        "incidents": len(truth.get("incidents", [])),
        "model_train_s": round(workload.model_seconds, 2),
        "model_threshold": card.get("threshold"),
        "model_trees": card.get("params", {}).get("n_estimators"),
        "model_training_events": card.get("training", {}).get("event_count"),
    }

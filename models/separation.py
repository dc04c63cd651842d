"""How well the behaviour model separates behaviour-only incidents, measured on simulated worlds.

``python -m models.separation --seeds 11 12 13`` does, per seed, what the docs
describe by hand:

1. ``frtwatch simulate`` (:func:`streams.simulate.simulate`) writes a world
   (``--users``, ``--days``; ``--behaviour-days`` makes each behaviour-only
   incident stop after that many days, so the user's ordinary searching comes
   back and the model must stop flagging them);
2. the model is trained on the world's normal history
   (:func:`streams.simulate.baseline.write_baseline`, cut to the first
   ``--train-days`` days) with :func:`models.train.train_to_file`, as
   ``frtwatch model train --from-file`` does;
3. ``frtwatch replay --from-file`` (:func:`streams.replay.run.run_replay`)
   judges the whole world with that model;
4. :func:`models.evaluate.alert_timing` compares the replay's alerts with the
   truth.

It prints per seed and in total:

* **recall**: behaviour-only incident users with an alert reaching into the
  incident;
* **false alarms**: users without any incident who got a behaviour alert
  (and how many alerts);
* **time to first alert**: from the incident's first search, median and max;
* **margin**: each incident user's highest row score during the incident
  minus the threshold (negative for a user never flagged), median and min;
  the same rows the stream scores (:func:`models.dataset.replay_features`);
* **after**: behaviour alerts of incident users opened after the incident's
  last search (the behaviour had ended), and how far past that end the
  evidence of any alert of theirs reached (days, max).

``--json`` prints the same figures as JSON; ``--keep DIR`` keeps the worlds,
models and runs (otherwise a temporary directory is removed). A progress line
per step goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from models.dataset import EventBatch, read_events_file, replay_features
from models.evaluate import DAY_S, DETECTOR, AlertTiming, alert_timing
from models.scoring import load_model
from models.train import DEFAULT_SEED, train_to_file
from streams.contract.event import parse_timestamp
from streams.contract.keys import user_key
from streams.errors import FrtwatchError

DEFAULT_SEEDS = (11, 12, 13)


@dataclass(frozen=True, slots=True)
class SeedFigures:
    """The figures of one world (see the module doc)."""

    seed: int
    threshold: float
    incidents: int
    found: int
    normal_users: int
    false_alarm_users: int
    false_alarms: int
    delays_days: list[float]
    margins: list[float]
    alerts_after_end: int
    users_alerted_after_end: int
    reach_after_end_days: float
    missed: list[str]

    @property
    def recall(self) -> float:
        return self.found / self.incidents if self.incidents else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "recall": self.recall}


def _progress(text: str) -> None:
    print(f"[separation] {text}", file=sys.stderr, flush=True)


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def incident_spans(truth: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """User key -> (start, end) of their behaviour-only incident (its first and last search)."""
    spans: dict[str, tuple[float, float]] = {}
    for incident in truth["incidents"]:
        if incident.get("detector") != DETECTOR:
            continue
        span = parse_timestamp(incident["start"]), parse_timestamp(incident["end"])
        for user in incident.get("users", ()):
            spans[user_key(incident["agency"], user)] = span
    return spans


def after_end(alerts_path: Path, spans: dict[str, tuple[float, float]]) -> tuple[int, int, float]:
    """(alerts opened after their user's incident ended, users with such alerts,
    max days any alert's evidence reached past the end)."""
    opened: dict[str, set[str]] = {}
    reach = 0.0
    latest: dict[str, dict[str, Any]] = {}
    for line in alerts_path.read_bytes().splitlines():
        if line.strip():
            alert = orjson.loads(line)
            if alert.get("detector") == DETECTOR:
                latest[alert["alert_id"]] = alert
    for alert in latest.values():
        key = user_key(alert["agency"], alert["user"])
        if key not in spans:
            continue
        end = spans[key][1]
        first, last = parse_timestamp(alert["first_seen"]), parse_timestamp(alert["last_seen"])
        if first > end:
            opened.setdefault(key, set()).add(alert["alert_id"])
        reach = max(reach, (last - end) / DAY_S)
    return sum(len(ids) for ids in opened.values()), len(opened), round(reach, 3)


def margins(
    model_path: Path,
    events: Path,
    spans: dict[str, tuple[float, float]],
    policy_path: Path,
) -> dict[str, float]:
    """Each incident user's highest score during the incident minus the threshold."""
    from streams.policy import load_policy

    hours = load_policy(policy_path).local_hours()
    model = load_model(model_path, hours)
    rows = replay_features(read_events_file(events).events, hours)
    scores = model.score(rows.X) if len(rows.X) else np.empty(0)
    best: dict[str, float] = {}
    for i, user in enumerate(rows.users):
        span = spans.get(user)
        if span is None:
            continue
        mask = (rows.user_index == i) & (rows.ts >= span[0]) & (rows.ts <= span[1])
        if mask.any():
            best[user] = round(float(scores[mask].max()) - model.threshold, 4)
    return {user: best.get(user, -model.threshold) for user in spans}


def run_seed(
    seed: int,
    work: Path,
    *,
    users: int,
    days: int,
    train_days: int | None,
    behaviour_days: int | None,
    policy_path: Path,
) -> SeedFigures:
    """Simulate, train, replay and measure one world (see the module doc)."""
    from streams.replay.run import ReplayOptions, run_replay
    from streams.replay.timerange import TimeRange
    from streams.simulate import SimulationConfig, simulate
    from streams.simulate.baseline import write_baseline

    base = work / f"seed-{seed}"
    world = base / "world"
    began = time.perf_counter()
    _progress(f"seed {seed}: simulating {users} users, {days} days")
    result = simulate(
        SimulationConfig(
            seed=seed,
            users=users,
            days=days,
            policy_path=policy_path,
            policy_label=str(policy_path),
            behaviour_days=behaviour_days,
        ),
        world,
    )
    truth = result.truth
    baseline = base / "baseline.jsonl"
    write_baseline(world / "events.jsonl", truth, baseline)
    batch = read_events_file(baseline)
    range_to = None
    if train_days is not None:
        range_to = parse_timestamp(truth["start"]) + train_days * DAY_S
        batch = EventBatch([e for e in batch.events if e.ts < range_to], batch.rejected,
                           batch.source)  # fmt: skip
    _progress(f"seed {seed}: training on {len(batch.events):,} events")
    from streams.policy import load_policy

    hours = load_policy(policy_path).local_hours()
    model = base / "model.skops"
    card = train_to_file(batch, model, seed=DEFAULT_SEED, range_to=range_to, hours=hours)
    _progress(f"seed {seed}: replaying {result.event_count:,} events")
    run = base / "run"
    run_replay(
        ReplayOptions(
            out_dir=run,
            time_range=TimeRange.parse(None, None),
            policy_path=policy_path,
            from_file=world / "events.jsonl",
            certifications=world / "certifications.csv",
            model_path=model,
            report=False,
            progress=False,
        )
    )
    timing: AlertTiming = alert_timing(world / "truth.json", run / "alerts.jsonl")
    spans = incident_spans(truth)
    margin = margins(model, world / "events.jsonl", spans, policy_path)
    after, after_users, reach = after_end(run / "alerts.jsonl", spans)
    _progress(f"seed {seed}: done in {time.perf_counter() - began:.0f} s")
    return SeedFigures(
        seed=seed,
        threshold=round(float(card["threshold"]), 4),
        incidents=len(timing.incidents),
        found=timing.found,
        normal_users=timing.normal_users,
        false_alarm_users=timing.normal_users_alerted,
        false_alarms=timing.normal_alerts,
        delays_days=sorted(r.delay_days for r in timing.incidents if r.delay_days is not None),
        margins=sorted(margin.values()),
        alerts_after_end=after,
        users_alerted_after_end=after_users,
        reach_after_end_days=reach,
        missed=sorted(r.user for r in timing.incidents if r.delay_days is None),
    )


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _line(name: str, f: SeedFigures | list[SeedFigures]) -> str:
    figs = f if isinstance(f, list) else [f]
    incidents = sum(x.incidents for x in figs)
    found = sum(x.found for x in figs)
    delays = sorted(d for x in figs for d in x.delays_days)
    margin = sorted(m for x in figs for m in x.margins)
    return (
        f"{name:<6} recall {found}/{incidents}  false alarms "
        f"{sum(x.false_alarm_users for x in figs)} users "
        f"({sum(x.false_alarms for x in figs)} alerts) of {sum(x.normal_users for x in figs)}  "
        f"first alert median {_days(_median(delays))} d max "
        f"{_days(delays[-1] if delays else None)} d  margin median "
        f"{_days(_median(margin))} min {_days(margin[0] if margin else None)}  after end "
        f"{sum(x.alerts_after_end for x in figs)} alerts "
        f"({sum(x.users_alerted_after_end for x in figs)} users), reach max "
        f"{_days(max((x.reach_after_end_days for x in figs), default=None))} d"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.separation",
        description="Recall, false alarms, time to first alert, score margins and alerts after "
        "the behaviour ended, of behaviour-only incidents on simulated worlds: simulate, "
        "train on the first days, replay, evaluate, per seed and in total.",
        epilog="example: python -m models.separation --seeds 11 12 13 --behaviour-days 5",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS),
                        help="world seeds (default 11 12 13)")  # fmt: skip
    parser.add_argument("--users", type=int, default=400, help="users per world (default 400)")
    parser.add_argument("--days", type=int, default=21, help="days per world (default 21)")
    parser.add_argument("--train-days", type=int, default=7,
                        help="train on the normal history of the first N days (default 7; "
                        "0: all of it, up to the first incident)")  # fmt: skip
    parser.add_argument("--behaviour-days", type=int, default=5,
                        help="behaviour-only incidents last N days, then the user's ordinary "
                        "searching resumes (default 5; 0: to the end of the run)")  # fmt: skip
    parser.add_argument("--policy", type=Path, default=None,
                        help="policy file (default: FRTWATCH_POLICY or config/policy.yaml)")  # fmt: skip
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep worlds, models and runs in DIR (it must not exist)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.keep is not None and args.keep.exists():
        print(f"python -m models.separation: {args.keep} already exists", file=sys.stderr)
        return 2
    if args.policy is None:
        from streams.settings import load_settings

        args.policy = load_settings().policy_path
    results: list[SeedFigures] = []
    with tempfile.TemporaryDirectory(prefix="frtwatch-separation-") as scratch:
        work = args.keep or Path(scratch)
        try:
            for seed in args.seeds:
                results.append(
                    run_seed(
                        seed,
                        work,
                        users=args.users,
                        days=args.days,
                        train_days=args.train_days or None,
                        behaviour_days=args.behaviour_days or None,
                        policy_path=args.policy,
                    )
                )
        except FrtwatchError as exc:
            print(f"python -m models.separation: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    for r in results:
        print(_line(f"{r.seed}", r) + f"  (threshold {r.threshold})")
    if len(results) > 1:
        print(_line("total", results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

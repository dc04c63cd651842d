"""The detection core alone: microseconds per event of ``Judge.run``, without a broker.

``python -m streams.bench.judge_only [--events N] [--from-file EVENTS.jsonl]``

Simulates a world (:mod:`streams.simulate`, ``--users``/``--days``/``--seed``) or reads
a ``frt.search.v1`` JSONL file (``--from-file``, with ``--certifications CSV``), sorts
the events by ``(ts, event_id)`` and times :meth:`streams.judge.batch.Judge.run` over
batches of ``--batch`` (2,000, as the worker and the replay judge) with the replay's
:class:`~streams.judge.batch.ObjectStates` and with the worker's
:class:`~streams.judge.batch.ByteStates` (state bytes with progress marks in plain
dicts, the tables' values), model off and on (a model trained with
:mod:`models.train` on the first ``--train-days`` days). Each case runs ``--runs``
times on fresh states; it prints the median µs/event and events/s (and the best run's
µs/event: on a shared machine the least disturbed), and a digest of the
alerts (the same events, policy and model must give the same digest, whichever the
store and however fast).

``--profile CASE`` (e.g. ``bytes-model``) runs that case once under cProfile instead
and prints the top functions by own time and by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

CASES = ("objects", "objects-model", "bytes", "bytes-model")


@dataclass(slots=True)
class Workload:
    events: list[Any]  # SearchEvent, sorted by (ts, event_id)
    certificates: Any  # CertificateRegistry
    model: Any  # BehaviorModel | None


def load_events(path: Path, limit: int | None) -> list[Any]:
    from streams.contract import parse_event

    events = []
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                events.append(parse_event(line))
    events.sort(key=lambda e: (e.ts, e.event_id))
    return events[:limit] if limit is not None else events


def build_workload(args: argparse.Namespace) -> Workload:
    from models.dataset import EventBatch
    from models.scoring import BehaviorModel
    from models.train import fit
    from streams.policy import CertificateRegistry, load_certificates_csv, load_policy
    from streams.settings import DEFAULT_POLICY
    from streams.simulate.world import SimulationConfig

    if args.from_file is not None:
        events = load_events(args.from_file, args.events)
        certs = (
            load_certificates_csv(args.certifications)
            if args.certifications is not None
            else CertificateRegistry()
        )
    else:
        from streams.simulate.generate import simulate

        with tempfile.TemporaryDirectory(prefix="frtwatch-judge-bench-") as work:
            config = SimulationConfig(seed=args.seed, users=args.users, days=args.days)
            simulate(config, work)
            events = load_events(Path(work) / "events.jsonl", args.events)
            certs = load_certificates_csv(Path(work) / "certifications.csv")
    model = None
    if events:
        policy = load_policy(DEFAULT_POLICY)
        until = events[0].ts + args.train_days * 86400.0
        first = [e for e in events if e.ts < until]
        result = fit(EventBatch(first, 0, "bench"), hours=policy.local_hours())
        model = BehaviorModel(result.forest, result.card)
    return Workload(events, certs, model)


def run_case(work: Workload, case: str, batch: int) -> tuple[float, str, int]:
    """Judge every event once on fresh states: seconds in ``Judge.run``, the alerts'
    digest and count."""
    from streams.detectors import Engine
    from streams.judge.batch import BatchItem, ByteStates, Judge, ObjectStates
    from streams.policy import load_policy
    from streams.settings import DEFAULT_POLICY

    engine = Engine(load_policy(DEFAULT_POLICY), work.certificates)
    judge = Judge(engine, work.model if case.endswith("-model") else None)
    states: ByteStates | ObjectStates
    byte_store = case.startswith("bytes")
    states = ByteStates({}, {}) if byte_store else ObjectStates()
    events = work.events
    # Items are made before the clock starts; byte stores get positions and sources,
    # as the worker's detection stage gives them.
    chunks = [
        [
            BatchItem(event, i, i, (0, i)) if byte_store else BatchItem(event, i)
            for i, event in enumerate(events[start : start + batch], start)
        ]
        for start in range(0, len(events), batch)
    ]
    digest = hashlib.sha256()
    alerts = 0
    seconds = 0.0
    for items in chunks:
        began = time.perf_counter()
        result = judge.run(items, states)
        seconds += time.perf_counter() - began
        for alert in result.alerts:
            digest.update(orjson.dumps(alert.to_dict(), option=orjson.OPT_SORT_KEYS))
            digest.update(b"\n")
        alerts += len(result.alerts)
        if result.failures:
            raise RuntimeError(f"{len(result.failures)} events failed: {result.failures[0][1]}")
    return seconds, digest.hexdigest()[:16], alerts


def profile_case(work: Workload, case: str, batch: int, top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    run_case(work, case, batch)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streams.bench.judge_only",
        description="Time the detection core (Judge.run) alone, without a broker.",
    )
    parser.add_argument("--events", type=int, default=None, help="judge the first N events")
    parser.add_argument("--from-file", type=Path, default=None, help="frt.search.v1 JSONL")
    parser.add_argument("--certifications", type=Path, default=None,
                        help="certificate CSV for --from-file")  # fmt: skip
    parser.add_argument("--users", type=int, default=400, help="simulated users (400)")
    parser.add_argument("--days", type=int, default=14, help="simulated days (14)")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed (7)")
    parser.add_argument("--train-days", type=float, default=7.0,
                        help="train the model on the first N days (7)")  # fmt: skip
    parser.add_argument("--batch", type=int, default=2000, help="events per batch (2000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per case; the median (3)")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, of {', '.join(CASES)}")  # fmt: skip
    parser.add_argument("--profile", choices=CASES, default=None,
                        help="run this case once under cProfile")  # fmt: skip
    parser.add_argument("--top", type=int, default=30, help="profile rows (30)")
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}: choose from {', '.join(CASES)}")
    if args.batch < 1 or args.runs < 1:
        parser.error("--batch and --runs must be at least 1")

    began = time.perf_counter()
    work = build_workload(args)
    n = len(work.events)
    if not n:
        parser.error("no events to judge")
    print(f"{n:,} events, model trained on the first {args.train_days:g} days "
          f"({time.perf_counter() - began:.1f} s to prepare)")  # fmt: skip
    if args.profile is not None:
        profile_case(work, args.profile, args.batch, args.top)
        return 0
    print(
        f"{'case':<14} {'us/event':>9} {'events/s':>10} {'best':>6}  {'runs (s)':<24} alerts  digest"
    )
    for case in cases:
        runs = [run_case(work, case, args.batch) for _ in range(args.runs)]
        digests = {digest for _, digest, _ in runs}
        if len(digests) != 1:
            raise RuntimeError(f"{case}: runs gave different alerts: {sorted(digests)}")
        median = statistics.median(seconds for seconds, _, _ in runs)
        times = " ".join(f"{seconds:.2f}" for seconds, _, _ in runs)
        best = min(seconds for seconds, _, _ in runs) / n * 1e6
        print(f"{case:<14} {median / n * 1e6:>9.2f} {n / median:>10,.0f} {best:>6.2f}  {times:<24} "
              f"{runs[0][2]:>6}  {runs[0][1]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The benchmark's **pinned** phase: the broker on one core, the workers on another.

On a machine of two cores the scale phase's two workers, each running both stages, share
the cores with each other and with the broker. Pinning separates what the design costs
from what contention costs. Over the same pre-loaded input, one run after the other:

1. **one worker** pinned to core 1, the broker's every thread to core 0;
2. **two workers in one group**, both pinned to core 1: the same core's worth of CPU as
   run 1. If the pair carries about what one worker does, a second worker costs little
   beyond sharing (rebalances, each worker running both stages, the internal topic);
   if it carries much less, that overhead is the design's.

For each run the phase reports events/s and every process's CPU (cores' worth over the
run) and CPU per event (µs), the per-stage figures the N-worker model of
docs/PERFORMANCE.md is built from. With three cores or more it also runs two workers on
a core each (run 3). The broker's affinity is restored afterwards. Affinities are set
with ``taskset`` (util-linux) for the workers and ``os.sched_setaffinity`` for the
broker's threads.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from streams.bench.processes import WORKER_READY, Consumer, CpuShares, cpu_seconds, start
from streams.bench.throughput import measure_worker

FRTWATCH_WORKER = ("worker",)


def _threads(pid: int) -> list[int]:
    return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]


@contextmanager
def broker_pinned(pid: int, core: int) -> Iterator[None]:
    """Every thread of process ``pid`` on ``core`` while the block runs; restored after."""
    before = {tid: os.sched_getaffinity(tid) for tid in _threads(pid)}
    try:
        for tid in before:
            try:
                os.sched_setaffinity(tid, {core})
            except ProcessLookupError:  # a thread that ended meanwhile
                continue
        yield
    finally:
        everything = set().union(*before.values()) if before else set(range(os.cpu_count() or 1))
        for tid in _threads(pid):
            try:
                os.sched_setaffinity(tid, before.get(tid, everything))
            except ProcessLookupError:
                continue


def available() -> str | None:
    """Why the phase cannot run here, or None."""
    if shutil.which("taskset") is None:
        return "taskset (util-linux) is not installed"
    if len(os.sched_getaffinity(0)) < 2:
        return "this process may use fewer than two cores"
    return None


def run_pinned(
    *,
    bench: Any,
    workload: Any,
    broker_pid: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Run the pinned phase (see the module doc); its results."""
    from streams.bench.topic_setup import bench_topics

    cores = sorted(os.sched_getaffinity(0))
    broker_core, worker_core = cores[0], cores[1]
    out: dict[str, Any] = {"broker_core": broker_core, "worker_core": worker_core}
    runs = [("one_worker", [worker_core]), ("two_workers_one_core", [worker_core, worker_core])]
    if len(cores) >= 3:
        runs.append(("two_workers_two_cores", [cores[1], cores[2]]))
    else:
        out["two_workers_two_cores"] = {"skipped": f"needs 3 cores, this machine has {len(cores)}"}
    with broker_pinned(broker_pid, broker_core):
        for label, placement in runs:
            topics = replace(bench_topics(bench.run_id, f"pin-{label}"),
                             events=bench.topics.events)  # fmt: skip
            bench.admin.create_worker_topics(topics)
            app_id = f"bench-{bench.run_id}-pin-{label}"
            workers = [
                _start_pinned(bench, workload.policy, app_id, topics, f"pin-{label}-{n}", core)
                for n, core in enumerate(placement)
            ]
            try:
                result = _measure(bench, workload, app_id, topics, workers, broker_pid)
            finally:
                for worker in workers:
                    worker.stop()
            result["cores"] = placement
            out[label] = result
            say(f"pinned, {label.replace('_', ' ')}: {result['events_per_s']:,.0f} events/s "
                f"(broker {result['cpu_cores']['broker']} cores, workers "
                f"{result['cpu_cores']['workers']} cores)")  # fmt: skip
    one, pair = out["one_worker"], out["two_workers_one_core"]
    out["pair_over_one_on_one_core"] = round(pair["events_per_s"] / one["events_per_s"], 3)
    return out


def _start_pinned(
    bench: Any, policy: Path, app_id: str, topics: Any, label: str, core: int
) -> Consumer:
    from streams.bench.processes import FRTWATCH, worker_env

    env = worker_env(bench.bootstrap, topics, app_id, bench.work / f"data-{label}", policy)
    command = ["taskset", "-c", str(core), str(FRTWATCH), *FRTWATCH_WORKER]
    return start(command, bench.work / f"{label}.log", env)


def _measure(
    bench: Any, workload: Any, app_id: str, topics: Any, workers: list[Consumer], broker_pid: int
) -> dict[str, Any]:
    # Timed from the first worker's readiness, as the scale phase is: a second worker's
    # start-up and the rebalance that hands it partitions count against the pair.
    first = workers[0]
    first.wait_for(WORKER_READY, timeout_s=180)
    pids = {"broker": broker_pid} | {f"worker{n}": w.pid for n, w in enumerate(workers)}
    shares = CpuShares(pids)
    started = {label: cpu_seconds(pid) for label, pid in pids.items()}
    timed = measure_worker(first, bench.bootstrap, topics.events, app_id,
                           workload.event_count, timeout_s=3600)  # fmt: skip
    used = shares.read()
    spent = {label: cpu_seconds(pid) - started[label] for label, pid in pids.items()}
    for worker in workers[1:]:  # each took part: ready, and still running
        worker.wait_for(WORKER_READY, timeout_s=1)
        if not worker.alive():
            raise RuntimeError(f"a pinned worker exited:\n{worker.output()[-3000:]}")
    events = workload.event_count
    workers_cpu = sum(v for k, v in spent.items() if k != "broker")
    return {
        "events": events,
        "seconds": round(timed.seconds, 3),
        "events_per_s": round(timed.per_second, 1),
        "cpu_cores": {
            "broker": used.get("broker"),
            "workers": round(sum(v for k, v in used.items() if k != "broker"), 3),
        },
        "cpu_us_per_event": {
            "broker": round(spent["broker"] / events * 1e6, 2),
            "workers": round(workers_cpu / events * 1e6, 2),
        },
    }

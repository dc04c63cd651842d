"""Throughput of three consumers of the same pre-loaded topic, one after the other.

1. a raw aiokafka loop in this process (:mod:`streams.bench.raw_consume`);
2. the empty Faust agent (:mod:`streams.bench.empty_agent`), a process of its own;
3. ``frtwatch worker`` with every detector and the model, a process of its own.

For 2 and 3 the clock starts when the process says it is ready (partitions
assigned; for the worker also tables recovered and certificates loaded) and
stops when its consumer group's lag is 0: for the worker on both the input
topic and its internal by-agency topic, i.e. every event has been judged and
everything it caused is on the broker. Start-up time is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.bench.empty_agent import READY_LINE
from streams.bench.processes import (
    WORKER_READY,
    Consumer,
    start_empty_agent,
)
from streams.bench.raw_consume import raw_aiokafka_loop
from streams.worker.consumer_lag import LagSample, LagWatch, worker_groups


@dataclass(slots=True)
class Throughput:
    """One consumer's run over the pre-loaded topic."""

    name: str
    events: int
    seconds: float
    startup_s: float | None = None
    rss_mib: float | None = None
    peak_rss_mib: float | None = None
    lag: list[LagSample] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.per_second, 1),
            "startup_s": None if self.startup_s is None else round(self.startup_s, 2),
            "rss_mib": None if self.rss_mib is None else round(self.rss_mib, 1),
            "peak_rss_mib": None if self.peak_rss_mib is None else round(self.peak_rss_mib, 1),
            "lag_samples": [(s.at_s, s.lag) for s in self.lag[:: max(1, len(self.lag) // 60)]],
        }


def measure_raw(bootstrap: str, topic: str) -> Throughput:
    records, seconds = raw_aiokafka_loop(bootstrap, topic)
    return Throughput("raw aiokafka loop", records, seconds)


def _until_drained(
    consumer: Consumer,
    watch: LagWatch,
    name: str,
    events: int,
    ready_line: str,
    timeout_s: float,
) -> Throughput:
    startup = consumer.wait_for(ready_line, timeout_s=180)
    samples: list[LagSample] = []
    seconds = watch.wait_zero(events, timeout_s=timeout_s, alive=consumer.alive, samples=samples)
    return Throughput(
        name,
        events,
        seconds,
        startup_s=startup,
        rss_mib=consumer.rss_mib(),
        peak_rss_mib=consumer.peak_mib(),
        lag=samples,
    )


def measure_empty_agent(
    bootstrap: str, topic: str, app_id: str, work: Path, events: int, timeout_s: float
) -> Throughput:
    agent = start_empty_agent(bootstrap, topic, app_id, work / f"data-{app_id}", work / "empty.log")
    try:
        with LagWatch(bootstrap, [app_id], [topic]) as watch:
            return _until_drained(agent, watch, "empty Faust agent", events, READY_LINE, timeout_s)
    finally:
        agent.stop()


def measure_worker(
    worker: Consumer,
    bootstrap: str,
    input_topic: str,
    app_id: str,
    events: int,
    timeout_s: float,
) -> Throughput:
    """Time ``worker`` (already started) through the pre-loaded input; it keeps running."""
    internal = f"{app_id}-events-by-agency"
    with LagWatch(bootstrap, worker_groups(app_id), [input_topic, internal]) as watch:
        return _until_drained(
            worker, watch, "frtwatch worker (all detectors + model)", events, WORKER_READY,
            timeout_s,
        )  # fmt: skip

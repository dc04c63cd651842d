"""The judging loop: ordered batches from a source through the driver, stoppable, timed.

A release of the time merge can hold hundreds of thousands of events, so it
is judged in slices: between slices the progress bar moves and Ctrl-C is
looked at. A stop inside a release records the event time of the first event
not judged, which is where a partial run's coverage ends.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from streams.contract import SearchEvent
from streams.replay.driver import ReplayDriver
from streams.replay.progress import ProgressView
from streams.replay.sources import EventSource

SLICE = 20_000
"""Events judged between two looks at the progress bar and at Ctrl-C."""


@contextmanager
def paused_cyclic_gc() -> Iterator[None]:
    """Pause CPython's cycle collector while events are read and judged.

    A replay holds hundreds of thousands of live objects (buffered events,
    per-user states) and the collector rescans them as they age: measured, a
    quarter of a replay's CPU time. Nothing in the loop builds reference
    cycles (a 200,000-event run leaves about 200 cyclic objects, from client
    connections), and reference counting still frees everything else at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(slots=True)
class Judged:
    """What the loop did."""

    complete: bool = False
    handed: int = 0  # events handed to the driver (warm-up excluded)
    first_ts: float = math.inf
    last_ts: float = -math.inf
    stopped_at: float | None = None  # event time of the first released event not judged
    detect_s: float = 0.0
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)


def judge_all(
    source: EventSource,
    driver: ReplayDriver,
    *,
    judge_from: float,
    should_stop: Callable[[], bool],
    progress: bool,
) -> Judged:
    """Judge everything ``source`` yields; events before ``judge_from`` only warm the state."""
    judged = Judged()
    clock = time.perf_counter()
    unit = getattr(source, "unit", "")
    with paused_cyclic_gc(), ProgressView(source.total, unit, enabled=progress) as view:
        try:
            for batch in source.batches(should_stop):
                if _judge_batch(batch, driver, judged, judge_from, should_stop, view, source):
                    break
            view.update(source.done, judged.handed)
        except KeyboardInterrupt:
            judged.warnings.append("interrupted twice: the last slice may be only partly judged")
    judged.complete = source.complete and judged.stopped_at is None and not judged.warnings
    if driver.failed:  # the worker dead-letters these
        judged.warnings.append(
            f"{driver.failed} event(s) could not be judged (an internal error, logged above)"
        )
    judged.elapsed_s = time.perf_counter() - clock
    return judged


def _judge_batch(
    batch: list[SearchEvent],
    driver: ReplayDriver,
    judged: Judged,
    judge_from: float,
    should_stop: Callable[[], bool],
    view: ProgressView,
    source: EventSource,
) -> bool:
    """Judge one release in slices; True when asked to stop."""
    for begin in range(0, len(batch), SLICE):
        part = batch[begin : begin + SLICE]
        tick = time.perf_counter()
        if min(e.ts for e in part) < judge_from:
            driver.warm([e for e in part if e.ts < judge_from])
            part = [e for e in part if e.ts >= judge_from]
        driver.process(part)
        judged.detect_s += time.perf_counter() - tick
        judged.handed += len(part)
        if part:
            judged.first_ts = min(judged.first_ts, min(e.ts for e in part))
            judged.last_ts = max(judged.last_ts, max(e.ts for e in part))
        view.update(source.done, judged.handed)
        if should_stop():
            if begin + SLICE < len(batch):
                judged.stopped_at = batch[begin + SLICE].ts
            return True
    return False

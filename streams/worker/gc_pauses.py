"""Time CPython's garbage-collector passes in the worker, and report the long ones.

A collection stops the event loop for as long as it runs. The young
generations are scanned in microseconds, but a full (generation 2) pass
visits every container object the process holds, and a worker holding the
states of many users holds millions: such a pass delays every event in
flight. Each pass is counted in ``frtwatch_gc_pause_seconds`` (by
generation) and one longer than ``warn_s`` is logged as a warning. While the
worker starts (imports, the model, Faust's recovery) long passes are expected
and come before any event: they are logged at INFO until the worker says it
serves (:func:`now_serving`).

>>> watch = PauseWatch(warn_s=10.0)
>>> watch.on_gc("start", {"generation": 0}); watch.on_gc("stop", {"generation": 0})
>>> watch.longest[0] < 10.0
True
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from streams.metrics import observe_gc_pause

log = logging.getLogger(__name__)

WARN_S = 0.1
"""A pass this long is logged: it delays live events by as much."""


class PauseWatch:
    """A ``gc.callbacks`` entry that times each collection pass."""

    def __init__(self, warn_s: float = WARN_S, *, serving: bool = True) -> None:
        self.warn_s = warn_s
        self.serving = serving
        self.longest = [0.0, 0.0, 0.0]
        self._began = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        took = time.perf_counter() - self._began
        generation = int(info.get("generation", 2))
        self.longest[generation] = max(self.longest[generation], took)
        observe_gc_pause(generation, took)
        if took >= self.warn_s:
            # Counting the tracked objects would mean listing millions of them, inside
            # the pause being reported: the pass's own figures and the frozen count will do.
            log.log(
                logging.WARNING if self.serving else logging.INFO,
                "garbage collection (generation %d) paused the worker for %.0f ms%s "
                "(%d objects collected, %d frozen)",
                generation, took * 1000, "" if self.serving else " while starting",
                info.get("collected", 0), gc.get_freeze_count(),
            )  # fmt: skip


_installed: list[PauseWatch] = []


def install(warn_s: float = WARN_S, *, starting: bool = False) -> PauseWatch:
    """Start timing collection passes in this process; returns the watch.

    ``starting``: long passes are only noted (INFO) until :func:`now_serving`."""
    watch = PauseWatch(warn_s, serving=not starting)
    gc.callbacks.append(watch.on_gc)
    _installed.append(watch)
    return watch


def now_serving() -> None:
    """The worker is ready: from now on a long pass delays events, and is a warning."""
    for watch in _installed:
        watch.serving = True

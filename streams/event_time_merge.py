"""Merge several event streams (Kafka partitions) into one, in event-time order.

Why: the input topic has several partitions, and with null or random keys any
user's searches are spread over all of them. Faust hands the worker whatever
each partition's fetch returned, so after an outage or a bulk load one
partition can be hours or days of event time ahead of another. Re-keyed by
agency in that order, a user's searches would reach the detectors far out of
order: rates and bursts would be judged on a scrambled history (older
searches arriving "late" are not counted, so baselines shrink and peers
vanish). Merging the partitions by event time before the repartition keeps
each agency's internal stream in order, up to the disorder inside a
partition, which the engine's allowed lateness absorbs.

How: each partition (a *source*) is assumed to be roughly in event-time
order. An item is released once no watched source can still deliver an
earlier one: every other source either holds a later item, has already
delivered a later one, or has been *idle* (nothing arrived) for ``idle_s``
seconds of wall-clock time. Idle sources stop holding the others back, so a
quiet partition delays live events by at most ``idle_s``. ``max_held`` bounds
memory: beyond it the oldest item is released regardless.

>>> merge = EventTimeMerge(idle_s=1.0)
>>> merge.watch([0, 1], now=0.0)
>>> merge.push(0, 10.0, "a@10", now=0.0)
>>> merge.push(0, 30.0, "a@30", now=0.0)
>>> merge.release(now=0.1)  # source 1 may still send something older
[]
>>> merge.push(1, 20.0, "b@20", now=0.2)
>>> merge.release(now=0.2)
['a@10', 'b@20']
>>> merge.release(now=1.3)  # source 1 has been idle for a second
['a@30']
>>> small = EventTimeMerge(idle_s=60.0, max_held=2)
>>> small.watch([0, 1], now=0.0)
>>> for ts in (5.0, 6.0, 7.0):
...     small.push(0, ts, ts, now=0.0)
>>> small.release(now=0.0)  # more than max_held: the oldest goes regardless
[5.0]
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class EventTimeMerge(Generic[T]):
    """A k-way event-time merge of sources that may pause (see the module doc)."""

    def __init__(self, *, idle_s: float = 1.0, max_held: int = 50_000) -> None:
        if idle_s < 0 or max_held < 1:
            raise ValueError("idle_s must be >= 0 and max_held >= 1")
        self.idle_s = idle_s
        self.max_held = max_held
        self._heap: list[tuple[float, int, int, T]] = []
        self._seq = itertools.count()
        self._held: dict[int, int] = {}
        self._newest: dict[int, float] = {}
        self._last_arrival: dict[int, float] = {}
        self._watched: set[int] = set()

    def __len__(self) -> int:
        return len(self._heap)

    def watch(self, sources: Iterable[int], now: float) -> None:
        """Set the sources to wait for (e.g. the assigned partitions).

        A new source counts as having just arrived, so it gets ``idle_s`` to
        deliver its first item. Items of sources no longer watched stay held
        and are released in order.
        """
        wanted = set(sources)
        for source in wanted - self._watched:
            self._last_arrival.setdefault(source, now)
            self._last_arrival[source] = max(self._last_arrival[source], now)
        self._watched = wanted

    def push(self, source: int, ts: float, item: T, now: float) -> None:
        """Hold ``item`` (event time ``ts``) from ``source``."""
        if source not in self._watched:
            self._watched.add(source)
        heapq.heappush(self._heap, (ts, next(self._seq), source, item))
        self._held[source] = self._held.get(source, 0) + 1
        self._newest[source] = max(self._newest.get(source, -math.inf), ts)
        self._last_arrival[source] = now

    def release(self, now: float) -> list[T]:
        """Every item that no watched source can still precede, in event-time order."""
        out: list[T] = []
        heap = self._heap
        watermark = self._watermark(now)
        while heap:
            ts, _, source, item = heap[0]
            if ts > watermark and len(heap) <= self.max_held:
                break
            heapq.heappop(heap)
            out.append(item)
            left = self._held[source] - 1
            self._held[source] = left
            if left == 0:
                # This source no longer proves it has moved past later items.
                watermark = self._watermark(now)
        return out

    def release_all(self) -> list[T]:
        """Everything held, in event-time order (e.g. when stopping)."""
        out = [item for _, _, _, item in sorted(self._heap)]
        self._heap.clear()
        self._held.clear()
        return out

    def _watermark(self, now: float) -> float:
        """The event time up to which every watched source has spoken (or gone quiet)."""
        mark = math.inf
        for source in self._watched:
            if self._held.get(source, 0):
                continue  # its held items are in the heap and come out in order
            if now - self._last_arrival.get(source, now) >= self.idle_s:
                continue
            mark = min(mark, self._newest.get(source, -math.inf))
        return mark

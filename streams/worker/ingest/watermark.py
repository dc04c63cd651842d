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

How: a k-way merge. Each partition (a *source*) is a queue kept in arrival
(offset) order, and only a queue's head can leave, so every source's own
order is preserved. The caller says, at each release, which sources are
*lagging* (the broker holds records of them not yet delivered: a backlog, a
consumer restarting after a crash) and which are *quiet* (caught up). The
head with the earliest event time leaves when:

* no lagging source with an empty queue can still deliver an earlier event
  (each has delivered a later one): a lagging source is waited for, however
  long (the caller stops calling it lagging when it stops making progress);
* and, for a *backlog* event (event time before ``live_from``, typically a
  minute before the wall clock), no quiet source with an empty queue can
  either, or the event has waited ``idle_s`` seconds since it arrived. A
  producer writes its batches for different partitions one after another:
  in a bulk load of old events, one partition's batch can reach the broker
  some hundred milliseconds after a later batch of another partition, days
  later in event time; the quiet partition may be about to deliver. Live
  events are not held by quiet sources: their event times differ by the
  producers' skew at most, which the engine's allowed lateness absorbs, and
  a partition nobody writes to must not delay every live event.

``max_held`` bounds memory: beyond it the earliest head leaves regardless.

>>> merge = EventTimeMerge(idle_s=1.0)
>>> merge.push(0, 10.0, "a@10", now=0.0)
>>> merge.push(0, 30.0, "a@30", now=0.0)
>>> merge.release(now=0.1, quiet={0, 1})  # source 1 may still send something older
[]
>>> merge.push(1, 20.0, "b@20", now=0.2)
>>> merge.release(now=0.2, quiet={0, 1})
['a@10', 'b@20']
>>> merge.release(now=1.3, quiet={0, 1})  # a@30 has waited a second
['a@30']
>>> merge.push(0, 50.0, "a@50", now=2.0)
>>> merge.push(0, 40.0, "a@40 (out of order in its partition)", now=2.0)
>>> merge.push(1, 45.0, "b@45 (source 1 wakes up)", now=2.5)
>>> merge.release(now=3.1, quiet={0, 1})  # a source's own order is kept
['b@45 (source 1 wakes up)', 'a@50', 'a@40 (out of order in its partition)']
>>> merge.push(0, 60.0, "a@60", now=4.0)
>>> merge.release(now=9.0, lagging={1}, quiet={0})  # 1 has records on the broker, behind 60
[]
>>> merge.push(1, 55.0, "b@55", now=9.1)
>>> merge.release(now=9.1, lagging={1}, quiet={0})
['b@55']
>>> merge.release(now=9.2, quiet={0, 1}, live_from=60.0)  # a live event: not held by 1
['a@60']
>>> small = EventTimeMerge(idle_s=60.0, max_held=2)
>>> for ts in (5.0, 6.0, 7.0):
...     small.push(0, ts, ts, now=0.0)
>>> small.release(now=0.0, quiet={0, 1})  # more than max_held: the earliest head goes regardless
[5.0]
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class EventTimeMerge(Generic[T]):
    """A k-way event-time merge of ordered sources that may pause (see the module doc)."""

    def __init__(self, *, idle_s: float = 1.0, max_held: int = 50_000) -> None:
        if idle_s < 0 or max_held < 1:
            raise ValueError("idle_s must be >= 0 and max_held >= 1")
        self.idle_s = idle_s
        self.max_held = max_held
        self._queues: dict[int, deque[tuple[float, float, T]]] = {}
        self._held = 0
        self._newest: dict[int, float] = {}

    def __len__(self) -> int:
        return self._held

    def push(self, source: int, ts: float, item: T, now: float) -> None:
        """Hold ``item`` (event time ``ts``) behind everything ``source`` sent before."""
        self._queues.setdefault(source, deque()).append((ts, now, item))
        self._held += 1
        self._newest[source] = max(self._newest.get(source, -math.inf), ts)

    def release(
        self,
        now: float,
        lagging: Collection[int] = (),
        quiet: Collection[int] = (),
        live_from: float = math.inf,
    ) -> list[T]:
        """Every head no lagging source can still precede and, for a backlog event (event
        time before ``live_from``), no quiet source either unless it waited long enough.
        """
        out: list[T] = []
        hard = self._watermark(lagging)
        soft = self._watermark(quiet)
        oldest_allowed = now - self.idle_s
        while self._held:
            queue = min((q for q in self._queues.values() if q), key=lambda q: q[0][0])
            ts, arrived, item = queue[0]
            if self._held <= self.max_held and (
                ts > hard or (ts > soft and ts < live_from and arrived > oldest_allowed)
            ):
                break
            queue.popleft()
            out.append(item)
            self._held -= 1
            if not queue:
                # This source no longer proves it has moved past later events.
                hard = self._watermark(lagging)
                soft = self._watermark(quiet)
        return out

    def _watermark(self, sources: Iterable[int]) -> float:
        """The event time up to which every one of ``sources`` with an empty queue has spoken."""
        mark = math.inf
        for source in sources:
            if not self._queues.get(source):
                mark = min(mark, self._newest.get(source, -math.inf))
        return mark

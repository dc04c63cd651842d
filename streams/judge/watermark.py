"""The event-time watermark: the order in which the judge sees events, live and in replay.

A topic's partitions are read side by side, each in offset order, but they
arrive unevenly: one poll may bring a day of partition 0 and an hour of
partition 3, and with null or random keys any user's searches are spread over
all of them. Judging events in arrival order would make the alerts depend on
fetch sizes, producer keys and timing. Instead every partition buffers what it
delivered, and events are released only below the **watermark**:

    W = min over the open partitions of (the largest event time the partition has delivered)

Below ``W`` no open partition can still deliver an earlier event, unless that
event is out of order within its own partition. (Strictly below: a partition
at ``W`` may still deliver more events with that very time.) Each partition's
events keep their offset order (a partition releases the prefix of its buffer
that lies below ``W``) and the prefixes are merged by
``(ts, partition, offset)``. Events of equal time are ordered by a ``tie``
key of their own content when the driver gives one (the worker and replay
both give the event id), so they too come out in the same order however they
were spread over partitions. So when every partition is in time order (what
shippers, ``frtwatch ingest`` and the simulator produce) the release order is
the global sort by ``(ts, event id)``, whatever the partitioning, the keys,
the read sizes or the timing: below ``W`` every event of a given time has
been delivered, so a run of equal times is always released whole.

A partition stops holding ``W`` back in two cases only:

* it is **finished** (replay: it has nothing more in the range);
* the driver declares it **idle**: the live worker does so for a partition
  with nothing more on the broker that has held a release back for ``idle_s``
  seconds of wall clock (:class:`IdleClock`). A partition with records still on
  the broker is waited for, however long.

Two things can still put an event behind the watermark, and both are counted
(:attr:`Watermark.late`): an event that is out of order within its own
partition, and, live, an event that reaches an idle partition after others
have moved past its time. Either is judged when it is released, with the
engine's allowed lateness (counted in rates when it is at most that far
behind the user's newest search; rule detectors judge it in any case), in the
worker and in a replay alike. ``max_held`` bounds memory: beyond it the
earliest events leave regardless (:attr:`Watermark.forced`).

>>> w = Watermark([0, 1])
>>> w.add(0, [(10.0, 0, "a"), (30.0, 1, "b")])
>>> w.release()        # partition 1 has said nothing yet: nothing is safe
[]
>>> w.blocking()
{1}
>>> w.add(1, [(20.0, 0, "c")])
>>> [e for *_, e in w.release()]
['a']
>>> w.watermark        # partition 1 is open at 20: c (20) and b (30) wait
20.0
>>> w.finish(1)
>>> [e for *_, e in w.release()]      # partition 0 is still open at 30
['c']
>>> w.open([2])                       # a partition assigned later, silent so far
>>> w.add(0, [(50.0, 2, "f")])
>>> w.release(), w.blocking()
([], {2})
>>> [e for *_, e in w.release(idle={2})]  # a live driver stopped waiting for 2
['b']
>>> w.add(2, [(25.0, 0, "d")])        # 2 wakes up with an event older than b
>>> w.release()                       # and now holds the watermark at 25
[]
>>> [e for *_, e in w.release(idle={2})], w.late   # silent again: d leaves, behind b
(['d'], 1)
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

Item = tuple[float, int, int, T]
"""``(ts, partition, offset, payload)``."""


def _ts(item: tuple[float, int, int, object]) -> float:
    return item[0]


class Watermark(Generic[T]):
    """Buffers per partition; releases what lies below the merged watermark, in time order."""

    def __init__(
        self,
        partitions: Iterable[int] = (),
        *,
        max_held: int | None = None,
        tie: Callable[[T], str] | None = None,
    ) -> None:
        if max_held is not None and max_held < 1:
            raise ValueError("max_held must be >= 1")
        self.max_held = max_held
        self._tie = tie
        self._buffers: dict[int, list[Item[T]]] = {}
        self._newest: dict[int, float] = {}
        self._in_order: dict[int, bool] = {}
        self._open: set[int] = set()
        self._held = 0
        self._released_to = -math.inf
        self._released_max = -math.inf
        self.late = 0
        """Events released behind an event released before them (see the module doc)."""
        self.forced = 0
        """Events released early because more than ``max_held`` were buffered."""
        self.open(partitions)

    def open(self, partitions: Iterable[int]) -> None:
        """Start waiting for ``partitions`` (assigned to the driver)."""
        for partition in partitions:
            self._buffers.setdefault(partition, [])
            self._in_order.setdefault(partition, True)
            self._open.add(partition)

    def finish(self, partition: int) -> None:
        """The partition has nothing more to deliver: it no longer holds the watermark."""
        self._open.discard(partition)

    def forget(self, partitions: Iterable[int]) -> list[Item[T]]:
        """Stop tracking ``partitions`` (given up in a rebalance); returns what they held."""
        dropped: list[Item[T]] = []
        for partition in partitions:
            dropped += self._buffers.pop(partition, [])
            self._newest.pop(partition, None)
            self._in_order.pop(partition, None)
            self._open.discard(partition)
        self._held -= len(dropped)
        return dropped

    def __len__(self) -> int:
        return self._held

    @property
    def watermark(self) -> float:
        """Events before this time are safe to release (``inf`` once all are finished)."""
        return self._mark(())

    @property
    def released_to(self) -> float:
        """The watermark of the last :meth:`release`: every event before it was released."""
        return self._released_to

    def buffered(self, partition: int | None = None) -> int:
        if partition is not None:
            return len(self._buffers[partition])
        return self._held

    def frontier(self, partition: int) -> float:
        """The largest event time ``partition`` has delivered (``-inf``: none yet)."""
        return self._newest.get(partition, -math.inf)

    def add(self, partition: int, items: Iterable[tuple[float, int, T]]) -> None:
        """Append ``(ts, offset, payload)`` items of one partition, in offset order."""
        buffer = self._buffers[partition]
        newest = self._newest.get(partition, -math.inf)
        last = buffer[-1][0] if buffer else -math.inf
        in_order = self._in_order[partition]
        before = len(buffer)
        for ts, offset, payload in items:
            buffer.append((ts, partition, offset, payload))
            if ts < last:
                in_order = False
            last = ts
            if ts > newest:
                newest = ts
        self._held += len(buffer) - before
        self._newest[partition] = newest
        self._in_order[partition] = in_order

    def extend(self, partition: int, items: list[Item[T]], newest: float, in_order: bool) -> None:
        """Append ready-made ``(ts, partition, offset, payload)`` items of one partition.

        The bulk form of :meth:`add` for a reader that already walks every event:
        ``newest`` is the largest ``ts`` among them, ``in_order`` whether their
        times never decrease.
        """
        buffer = self._buffers[partition]
        if items:
            if buffer and items[0][0] < buffer[-1][0]:
                in_order = False
            buffer.extend(items)
            self._held += len(items)
            self._in_order[partition] = self._in_order[partition] and in_order
        if newest > self._newest.get(partition, -math.inf):
            self._newest[partition] = newest

    def blocking(self) -> set[int]:
        """Open partitions that hold back the earliest buffered event: their newest event
        time is not past it (what a live driver times before it declares one idle). A
        partition's own last event holds it back too, until the partition moves on."""
        heads = [buffer[0][0] for buffer in self._buffers.values() if buffer]
        if not heads:
            return set()
        earliest = min(heads)
        return {p for p in self._open if self._newest.get(p, -math.inf) <= earliest}

    def _mark(self, idle: Collection[int]) -> float:
        mark = math.inf
        for partition in self._open:
            if partition not in idle:
                newest = self._newest.get(partition, -math.inf)
                if newest < mark:
                    mark = newest
        return mark

    def release(self, idle: Collection[int] = ()) -> list[Item[T]]:
        """Each partition's buffered prefix below the watermark, merged in time order.

        ``idle``: open partitions not to wait for this time (see the module doc).
        """
        mark = self._mark(idle)
        prefixes: list[list[Item[T]]] = []
        all_in_order = True
        for partition, buffer in self._buffers.items():
            if not buffer:
                continue
            if self._newest.get(partition, -math.inf) < mark:
                cut = len(buffer)  # everything this partition delivered is below the mark
            elif self._in_order[partition]:
                cut = bisect_left(buffer, mark, key=_ts)
            else:
                cut = next((i for i, item in enumerate(buffer) if item[0] >= mark), len(buffer))
            if cut == 0:
                continue
            prefix = buffer[:cut]
            del buffer[:cut]
            all_in_order = all_in_order and self._in_order[partition]
            if not buffer:
                self._in_order[partition] = True
            prefixes.append(prefix)
        if mark > self._released_to:
            self._released_to = mark
        out: list[Item[T]]
        if not prefixes:
            out = []
        elif all_in_order:
            out = [item for prefix in prefixes for item in prefix]
            # Sorted runs: timsort merges them in near-linear time. (ts, partition,
            # offset) is unique, so tuple comparison never reaches the payload.
            out.sort()
        else:
            out = list(heapq.merge(*prefixes))
        if self._tie is not None:
            _order_ties(out, self._tie)
        self._held -= len(out)
        if self.max_held is not None and self._held > self.max_held:
            out += self._force(self._held - self.max_held)
        self._count_late(out)
        return out

    def _force(self, count: int) -> list[Item[T]]:
        """Release the ``count`` earliest buffered events regardless of the watermark."""
        forced: list[Item[T]] = []
        while len(forced) < count:
            buffer = min((b for b in self._buffers.values() if b), key=lambda b: b[0][0])
            forced.append(buffer.pop(0))
        self._held -= len(forced)
        self.forced += len(forced)
        return forced

    def _count_late(self, released: Sequence[Item[T]]) -> None:
        top = self._released_max
        late = 0
        for item in released:
            ts = item[0]
            if ts < top:
                late += 1
            else:
                top = ts
        self._released_max = top
        self.late += late


def _order_ties(items: list[Item[T]], tie: Callable[[T], str]) -> None:
    """Order each run of equal event times by ``(tie(payload), partition, offset)``, in place.

    >>> items = [(1.0, 0, 5, "b"), (2.0, 1, 0, "z"), (2.0, 0, 6, "y"), (3.0, 0, 7, "a")]
    >>> _order_ties(items, str)
    >>> [payload for *_, payload in items]
    ['b', 'y', 'z', 'a']
    """
    i, n = 0, len(items)
    while i < n - 1:
        ts = items[i][0]
        if items[i + 1][0] != ts:
            i += 1
            continue
        j = i + 2
        while j < n and items[j][0] == ts:
            j += 1
        items[i:j] = sorted(items[i:j], key=lambda item: (tie(item[3]), item[1], item[2]))
        i = j


class IdleClock:
    """When a live driver stops waiting for a silent partition (see the module doc).

    A partition that blocks a release starts a clock; once it has blocked for
    ``idle_s`` without delivering anything, and the broker holds nothing more
    of it (it is not *lagging*), it is idle until it delivers again.

    >>> clock = IdleClock(idle_s=2.0)
    >>> clock.idle(blocking={1}, lagging=set(), now=10.0)
    set()
    >>> clock.idle(blocking={1}, lagging=set(), now=12.5)
    {1}
    >>> clock.idle(blocking={1}, lagging={1}, now=13.0)  # records of 1 on the broker: wait
    set()
    >>> clock.idle(blocking=set(), lagging=set(), now=13.5)  # 1 delivered
    set()
    >>> clock.idle(blocking={1}, lagging=set(), now=14.0)  # blocks again: a new wait
    set()
    """

    def __init__(self, idle_s: float) -> None:
        if idle_s < 0:
            raise ValueError("idle_s must be >= 0")
        self.idle_s = idle_s
        self._since: dict[int, float] = {}

    def idle(self, blocking: Collection[int], lagging: Collection[int], now: float) -> set[int]:
        since = self._since
        for partition in [p for p in since if p not in blocking]:
            del since[partition]
        out = set()
        for partition in blocking:
            start = since.setdefault(partition, now)
            if partition not in lagging and now - start >= self.idle_s:
                out.add(partition)
        return out

    def forget(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._since.pop(partition, None)

"""Merge events from several partitions into one event-time order, with bounded memory.

A topic's partitions are read side by side, each in offset order, but they
arrive unevenly: one poll may bring a day of partition 0 and an hour of
partition 3. Handing events to the detectors in arrival order would make the
result depend on fetch sizes and timing. Instead every partition buffers what
it delivered, and events are released only below the *watermark*: the
smallest "newest event time seen" over the partitions still being read.
Below it, no partition can still deliver an earlier event unless that event
is out of order within its own partition. (Strictly below: a partition at
the watermark may still deliver more events with that very time.)

Each partition's events keep their offset order (a partition releases the
prefix of its buffer that lies below the watermark) and the prefixes
are merged by ``(ts, partition, offset)``. So:

* when every partition is in time order (what shippers and the simulator
  produce) the replay order is exactly the global sort by
  ``(ts, partition, offset)``, however the reads were batched;
* an event that is out of order in its partition stays behind the events
  before it, so it is processed late, exactly as the live worker, which
  reads each partition in offset order, processes it.

>>> m = TimeAlignedMerger([0, 1])
>>> m.add(0, [(10.0, 0, "a"), (30.0, 1, "b")])
>>> m.release()        # partition 1 has said nothing yet: nothing is safe
[]
>>> m.add(1, [(20.0, 0, "c")])
>>> [e for _, _, _, e in m.release()]
['a']
>>> m.watermark        # partition 1 is open at 20: c (20) and b (30) wait
20.0
>>> m.finish(1)
>>> [e for _, _, _, e in m.release()]      # partition 0 is still open at 30
['c']
>>> m.finish(0)
>>> m.watermark
inf
>>> [e for _, _, _, e in m.release()]
['b']
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def _ts(item: tuple[float, int, int, object]) -> float:
    return item[0]


class TimeAlignedMerger(Generic[T]):
    """Buffers per partition; releases what lies below the common watermark, in time order.

    Items are ``(ts, partition, offset, payload)`` tuples.
    """

    def __init__(self, partitions: Sequence[int]) -> None:
        self._buffers: dict[int, list[tuple[float, int, int, T]]] = {p: [] for p in partitions}
        self._newest: dict[int, float] = {}
        self._in_order: dict[int, bool] = dict.fromkeys(partitions, True)
        self._open: set[int] = set(partitions)
        self._released_to = -math.inf

    @property
    def watermark(self) -> float:
        """Events before this time are safe to release (``inf`` once all are finished)."""
        if not self._open:
            return math.inf
        return min(self._newest.get(p, -math.inf) for p in self._open)

    @property
    def released_to(self) -> float:
        """The watermark of the last :meth:`release`: every event before it was released."""
        return self._released_to

    def buffered(self, partition: int | None = None) -> int:
        if partition is not None:
            return len(self._buffers[partition])
        return sum(len(b) for b in self._buffers.values())

    def add(self, partition: int, items: Iterable[tuple[float, int, T]]) -> None:
        """Append ``(ts, offset, payload)`` items of one partition, in offset order."""
        buffer = self._buffers[partition]
        newest = self._newest.get(partition, -math.inf)
        last = buffer[-1][0] if buffer else -math.inf
        in_order = self._in_order[partition]
        for ts, offset, payload in items:
            buffer.append((ts, partition, offset, payload))
            if ts < last:
                in_order = False
            last = ts
            if ts > newest:
                newest = ts
        self._newest[partition] = newest
        self._in_order[partition] = in_order

    def extend(
        self,
        partition: int,
        items: list[tuple[float, int, int, T]],
        newest: float,
        in_order: bool,
    ) -> None:
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
            self._in_order[partition] = self._in_order[partition] and in_order
        if newest > self._newest.get(partition, -math.inf):
            self._newest[partition] = newest

    def finish(self, partition: int) -> None:
        """The partition has nothing more to deliver."""
        self._open.discard(partition)

    def release(self) -> list[tuple[float, int, int, T]]:
        """Each partition's buffered prefix below the watermark, merged in time order."""
        mark = self.watermark
        prefixes: list[list[tuple[float, int, int, T]]] = []
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
        if not prefixes:
            return []
        if all_in_order:
            out = [item for prefix in prefixes for item in prefix]
            # Sorted runs: timsort merges them in near-linear time. (ts, partition,
            # offset) is unique, so tuple comparison never reaches the payload.
            out.sort()
            return out
        return list(heapq.merge(*prefixes))

"""Which input partitions the event-time merge waits for: those still delivering a backlog.

A partition is *behind* while the broker holds records of it that the
consumer has not delivered yet. The ingest stage's merge must not let other
partitions' events overtake a behind partition's (they would reach the
detectors out of order: late events are not counted in rates). But offsets
are not always contiguous (transaction markers, compaction), so a partition
that looks behind and delivers nothing must not hold the merge for ever: it
counts as lagging for ``grace_s`` from when it fell behind, renewed each time
it delivers.

The grace is counted from when the partition *fell behind*, not from when it
was assigned or last delivered: a worker that has been idle for a minute and
then gets a bulk load must wait for every partition of it, not only for those
whose first records came in the first fetch.

>>> lag = LagClock(grace_s=5.0)
>>> lag.lagging({0: False, 1: False}, now=0.0)  # idle: nothing to wait for
set()
>>> sorted(lag.lagging({0: True, 1: True}, now=60.0))  # a bulk load, a minute later
[0, 1]
>>> lag.delivered(0, now=61.0)
>>> lag.lagging({0: True, 1: True}, now=65.5)  # 1 delivered nothing for 5.5 s
{0}
>>> lag.lagging({0: False, 1: True}, now=70.0)  # 0 caught up; 1 still stuck
set()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class LagClock:
    """Grace clocks of the partitions that are behind (see the module doc)."""

    def __init__(self, grace_s: float) -> None:
        if grace_s < 0:
            raise ValueError("grace_s must be >= 0")
        self.grace_s = grace_s
        self._since: dict[int, float] = {}

    def delivered(self, partition: int, now: float) -> None:
        """``partition`` delivered records: it is making progress, its grace starts again."""
        self._since[partition] = now

    def lagging(self, behind: Mapping[int, bool], now: float) -> set[int]:
        """The partitions to wait for, given which assigned partitions are behind."""
        out = set()
        for partition, is_behind in behind.items():
            if not is_behind:
                self._since.pop(partition, None)
                continue
            since = self._since.setdefault(partition, now)
            if now - since <= self.grace_s:
                out.add(partition)
        return out

    def forget(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._since.pop(partition, None)

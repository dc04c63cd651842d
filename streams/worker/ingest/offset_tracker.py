"""Which offsets may be committed while messages finish out of order.

A Kafka commit says "everything before this offset is done", but messages
finish in another order than they were read: the webhook dispatcher delivers
concurrently, and the worker's ingest stage sends dead letters at once while
valid events wait in its event-time merge. So per partition we track the
offsets still in flight and commit only up to the oldest of them: after a
crash the group resumes there, and at most the messages that were in flight
(plus any that finished after the last commit) are handled again.

>>> t = OffsetTracker()
>>> for off in (10, 11, 12):
...     t.started(("alerts", 0), off)
>>> t.finished(("alerts", 0), 11)
>>> t.commits()
{('alerts', 0): 10}
>>> t.finished(("alerts", 0), 10)
>>> t.commits()
{('alerts', 0): 12}
>>> t.mark_committed({("alerts", 0): 12}); t.commits()
{}
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


class OffsetTracker(Generic[P]):
    """Per-partition in-flight offsets and the next offset that is safe to commit."""

    def __init__(self) -> None:
        self._pending: dict[P, set[int]] = {}
        self._next: dict[P, int] = {}
        self._committed: dict[P, int] = {}

    def started(self, partition: P, offset: int) -> None:
        """A message was read and its delivery began."""
        self._pending.setdefault(partition, set()).add(offset)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)

    def finished(self, partition: P, offset: int) -> None:
        """A message is done: delivered or dead-lettered (or needed no delivery)."""
        pending = self._pending.get(partition)
        if pending is not None:
            pending.discard(offset)

    def safe_offset(self, partition: P) -> int | None:
        """The offset to commit for ``partition``: the oldest in flight, else the next to read."""
        pending = self._pending.get(partition)
        if pending:
            return min(pending)
        return self._next.get(partition)

    def commits(self) -> dict[P, int]:
        """Offsets that moved since the last successful commit."""
        out: dict[P, int] = {}
        for partition in self._next:
            offset = self.safe_offset(partition)
            if offset is not None and offset != self._committed.get(partition):
                out[partition] = offset
        return out

    def mark_committed(self, offsets: Mapping[P, int]) -> None:
        self._committed.update(offsets)

    def in_flight(self, partition: P) -> int:
        return len(self._pending.get(partition, ()))

    def forget(self, partitions: Iterable[P]) -> None:
        """Drop partitions this consumer no longer owns (after a rebalance)."""
        for partition in partitions:
            self._pending.pop(partition, None)
            self._next.pop(partition, None)
            self._committed.pop(partition, None)

    def owns(self, partition: P) -> bool:
        return partition in self._next

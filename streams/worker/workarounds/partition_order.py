"""Each partition's records in offset order, each once, even when Faust drops some.

faust-streaming 0.15 can lose records between its fetcher and a stream
around rebalances (its issue 596): they are never delivered, while the
records after them are. The detection stage (the worker's Faust agent) keeps,
per partition, the next offset it expects and judges every record it is
handed against it:

* a record below it was handled already (it is read again after a rewind):
  it is only acknowledged;
* a record above it reveals a hole: the stage reads the missing offsets
  itself (:mod:`streams.worker.workarounds.hole_filler`) and handles what it finds first.

Faust never acks the records of a hole (it never delivered them), so its
commit would stop there: the stage tells Faust the hole is done once the
batch is stored (``Consumer._add_gap``).

Where a partition starts is its committed offset; a partition never
committed starts where the consumer was sought to, its earliest offset
(:mod:`streams.worker.workarounds.consumer_start`), not at the first record delivered, which
may come after records Faust dropped.

>>> order: PartitionOrder[str] = PartitionOrder()
>>> [order.judge("p0", offset, committed=10) for offset in (10, 11, 11, 14, 15, 12)]
[('next', None), ('next', None), ('seen', None), ('next', (12, 13)), ('next', None), ('seen', None)]
>>> order.judge("p1", 3, committed=None)  # start not known: start where the records start
('next', None)
>>> order.forget(["p0"]); order.judge("p0", 9, committed=9)
('next', None)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, Literal, TypeVar

K = TypeVar("K", bound=Hashable)
Verdict = Literal["next", "seen"]
Hole = tuple[int, int]
"""First and last missing offset."""


class PartitionOrder(Generic[K]):
    """The next expected offset of each partition a stage reads."""

    def __init__(self) -> None:
        self._expected: dict[K, int] = {}

    def forget(self, partitions: Iterable[K]) -> None:
        """Partitions revoked or assigned afresh: start again from the committed offset."""
        for tp in partitions:
            self._expected.pop(tp, None)

    def judge(self, tp: K, offset: int, committed: int | None) -> tuple[Verdict, Hole | None]:
        """Whether to handle the record at ``offset``, and the hole it reveals, if any."""
        expected = self._expected.get(tp)
        if expected is None:
            expected = committed if committed is not None else offset
        if offset < expected:
            self._expected[tp] = expected
            return "seen", None
        self._expected[tp] = offset + 1
        if offset > expected:
            return "next", (expected, offset - 1)
        return "next", None

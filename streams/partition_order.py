"""Reading each partition in offset order, each record once, even when Faust drops some.

faust-streaming 0.15 can lose records between its fetcher and a stream
around rebalances (its issue 596): they are never delivered, while the
records after them are. The worker keeps, per partition, the next offset it
expects and judges every record it is handed against it:

* :class:`InternalOrder` (the ``detect`` stage, reading the internal topic,
  whose offsets have no holes: the worker writes it without transactions and
  it is never compacted): the next record is processed; one already seen is
  skipped; one beyond a hole means records were lost, so the partition is
  read again from the hole and nothing after it is processed until the hole
  is filled. The rewind is repeated (:meth:`InternalOrder.overdue`) while the
  hole stays open: records fetched before a seek can still pass through
  Faust after it and make Faust drop the re-read ones. A hole that never
  fills (the log was truncated by retention) is given up after ``give_up_s``.
* :class:`InputOrder` (the ``ingest`` stage, reading the input topic, whose
  offsets may have holes of their own: transaction markers, compaction):
  every new record is processed and a hole is remembered; a record already
  sent on is skipped; a record from a remembered hole (read again after a
  rewind) is processed and flagged as sent out of order.

>>> import itertools
>>> order = InternalOrder(give_up_s=30)
>>> [order.judge("p0", offset, committed=10, now=0.0) for offset in (10, 11, 11, 13)]
['next', 'next', 'seen', 'rewind']
>>> order.judge("p0", 14, committed=10, now=1.0)  # still waiting for 12
'wait'
>>> [order.judge("p0", offset, committed=10, now=2.0) for offset in (12, 13)]
['next', 'next']
>>> order.judge("p0", 20, committed=10, now=3.0), order.overdue(now=4.0, after_s=2.0)
('rewind', {})
>>> order.overdue(now=5.0, after_s=2.0), order.overdue(now=6.0, after_s=2.0)
({'p0': 14}, {})
>>> order.judge("p0", 21, committed=10, now=40.0), order.given_up
('next', [('p0', 14, 21)])

>>> sent = InputOrder()
>>> [sent.judge("in0", offset, committed=5) for offset in (5, 6, 9, 10, 7, 7, 6)]
['next', 'next', 'next', 'next', 'resent', 'seen', 'seen']
>>> sent.holes("in0")
[(8, 8)]
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import Hashable, Iterable
from typing import Generic, Literal, TypeVar

K = TypeVar("K", bound=Hashable)
Verdict = Literal["next", "seen", "rewind", "wait", "resent"]

MAX_HOLES = 10_000
"""Holes remembered per input partition (the oldest are forgotten first)."""


class InternalOrder(Generic[K]):
    """The ``detect`` stage's view of its partitions; see the module docstring."""

    def __init__(self, give_up_s: float = 120.0) -> None:
        self.give_up_s = give_up_s
        self._expected: dict[K, int] = {}
        self._rewinding: dict[K, tuple[int, float]] = {}
        self._last_seek: dict[K, float] = {}
        self.given_up: list[tuple[K, int, int]] = []
        """Holes given up, as (partition, first missing offset, offset resumed at)."""

    def overdue(self, now: float, after_s: float) -> dict[K, int]:
        """Partitions whose hole is still open ``after_s`` after their last rewind, and
        the offset to read them from again (the caller seeks; they count as rewound now)."""
        due = {}
        for tp, (offset, since) in self._rewinding.items():
            if now - self._last_seek.get(tp, since) >= after_s:
                due[tp] = offset
                self._last_seek[tp] = now
        return due

    def forget(self, partitions: Iterable[K]) -> None:
        """Partitions revoked or assigned afresh: start again from the committed offset."""
        for tp in partitions:
            self._expected.pop(tp, None)
            self._rewinding.pop(tp, None)
            self._last_seek.pop(tp, None)

    def expected(self, tp: K) -> int | None:
        return self._expected.get(tp)

    def judge(self, tp: K, offset: int, committed: int | None, now: float) -> Verdict:
        expected = self._expected.get(tp)
        if expected is None:
            expected = committed if committed is not None else offset
        if offset < expected:
            self._expected[tp] = expected
            return "seen"
        if offset > expected:
            rewinding = self._rewinding.get(tp)
            if rewinding is None or rewinding[0] != expected:
                self._expected[tp] = expected
                self._rewinding[tp] = (expected, now)
                return "rewind"
            if now - rewinding[1] < self.give_up_s:
                return "wait"
            self.given_up.append((tp, expected, offset))
        self._expected[tp] = offset + 1
        self._rewinding.pop(tp, None)
        self._last_seek.pop(tp, None)
        return "next"


class InputOrder(Generic[K]):
    """The ``ingest`` stage's view of its partitions; see the module docstring."""

    def __init__(self, max_holes: int = MAX_HOLES) -> None:
        self.max_holes = max_holes
        self._expected: dict[K, int] = {}
        self._holes: dict[K, list[tuple[int, int]]] = {}

    def forget(self, partitions: Iterable[K]) -> None:
        for tp in partitions:
            self._expected.pop(tp, None)
            self._holes.pop(tp, None)

    def holes(self, tp: K) -> list[tuple[int, int]]:
        """Remembered holes of ``tp``, as ``(first, last)`` offsets, oldest first."""
        return list(self._holes.get(tp, ()))

    def judge(self, tp: K, offset: int, committed: int | None) -> Verdict:
        expected = self._expected.get(tp)
        if expected is None:
            expected = committed if committed is not None else offset
        if offset >= expected:
            if offset > expected:
                holes = self._holes.setdefault(tp, [])
                holes.append((expected, offset - 1))
                if len(holes) > self.max_holes:
                    del holes[0]
            self._expected[tp] = offset + 1
            return "next"
        known = self._holes.get(tp)
        if known:
            holes = known
            at = bisect.bisect_right(holes, (offset, sys.maxsize)) - 1
            if at >= 0 and holes[at][0] <= offset <= holes[at][1]:
                first, last = holes[at]
                parts = [(first, offset - 1), (offset + 1, last)]
                holes[at : at + 1] = [(a, b) for a, b in parts if a <= b]
                return "resent"
        return "seen"

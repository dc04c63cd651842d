"""The event-time range a replay covers, and how it maps onto Kafka offsets.

Kafka can only seek by *message* timestamp (``offsets_for_times`` looks up the
first offset whose message timestamp is at or after a time). A search event's
own ``ts`` is when the search ran; its message timestamp is normally when the
shipper produced it (``CreateTime``), a little later, or when the broker
appended it (``LogAppendTime``). So a replay of the event-time range
``[start, end)`` reads the offsets whose message timestamps fall in
``[start - slack, end + slack)`` on every partition, then keeps exactly the
events whose own ``ts`` lies in ``[start, end)``. ``slack`` must cover how
late shippers deliver and how far producer clocks drift; events delivered
later than that are outside the seek window and are not read. A topic whose
message timestamps say nothing about event time (for instance one bulk-loaded
from an archive) cannot be searched by time at all: the reader notices that
and reads such partitions whole (see :mod:`.kafka_reader`), still keeping
only the events whose ``ts`` is in the range.

>>> r = TimeRange.parse("2026-03-02", "2026-03-03T12:00:00+02:00")
>>> r.start, r.end - r.start
(1772409600.0, 122400.0)
>>> r.contains(r.start), r.contains(r.end)
(True, False)
>>> plan_partition(0, begin=0, end=500, start_hit=120, stop_hit=None)
PartitionPlan(partition=0, start=120, stop=500)
>>> plan_partition(1, begin=0, end=500, start_hit=None, stop_hit=None).empty
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

from streams.contract.alert import format_ts
from streams.contract.event import parse_timestamp
from streams.errors import ContractError, UsageError

DEFAULT_SLACK_S = 3600.0
"""How far message timestamps may stray from event time and still be read."""


def parse_instant(text: str, option: str) -> float:
    """Epoch seconds of ``YYYY-MM-DD`` (00:00 UTC) or an RFC 3339 time with an offset.

    >>> parse_instant("2026-03-02T09:00:00Z", "--from") - parse_instant("2026-03-02", "--from")
    32400.0
    >>> parse_instant("yesterday", "--from")
    Traceback (most recent call last):
    ...
    streams.errors.UsageError: --from 'yesterday' is not a date (YYYY-MM-DD) or an RFC 3339 time with offset
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        return parse_timestamp(value)
    except (ValueError, ContractError):
        raise UsageError(
            f"{option} {text!r} is not a date (YYYY-MM-DD) or an RFC 3339 time with offset"
        ) from None


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Half-open event-time range ``[start, end)``; a missing bound is unbounded."""

    start: float = -math.inf
    end: float = math.inf

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> TimeRange:
        lo = parse_instant(start, "--from") if start else -math.inf
        hi = parse_instant(end, "--to") if end else math.inf
        if hi <= lo:
            raise UsageError(f"--to ({end}) must be later than --from ({start})")
        return cls(lo, hi)

    def contains(self, ts: float) -> bool:
        return self.start <= ts < self.end

    def seek_bounds_ms(self, slack_s: float) -> tuple[int | None, int | None]:
        """Message-timestamp bounds in ms to look up, ``None`` where unbounded."""
        lo = None if math.isinf(self.start) else max(0, int((self.start - slack_s) * 1000))
        hi = None if math.isinf(self.end) else max(0, int((self.end + slack_s) * 1000))
        return lo, hi

    def to_dict(self) -> dict[str, str | None]:
        return {
            "from": None if math.isinf(self.start) else format_ts(self.start),
            "to": None if math.isinf(self.end) else format_ts(self.end),
        }


@dataclass(frozen=True, slots=True)
class PartitionPlan:
    """Offsets ``[start, stop)`` of one partition that a replay reads."""

    partition: int
    start: int
    stop: int

    @property
    def empty(self) -> bool:
        return self.stop <= self.start

    @property
    def size(self) -> int:
        return max(0, self.stop - self.start)


def plan_partition(
    partition: int, *, begin: int, end: int, start_hit: int | None, stop_hit: int | None
) -> PartitionPlan:
    """Offsets to read from one partition.

    ``begin``/``end`` are the log start and the high watermark when the replay
    starts (a replay never chases records appended while it runs).
    ``start_hit``/``stop_hit`` are ``offsets_for_times`` answers for the lower
    and upper seek bound; ``None`` means no message is that late, i.e. the
    lower bound lies past the end (nothing to read) or the upper bound does
    (read to the end). Pass ``start_hit=begin`` for an unbounded start and
    ``stop_hit=None`` for an unbounded end.

    >>> plan_partition(3, begin=100, end=900, start_hit=50, stop_hit=700)
    PartitionPlan(partition=3, start=100, stop=700)
    """
    start = end if start_hit is None else max(begin, min(start_hit, end))
    stop = end if stop_hit is None else max(begin, min(stop_hit, end))
    return PartitionPlan(partition, start, max(start, stop))

"""Find partitions whose offset commit can no longer advance, and rewind them.

Faust commits a partition only up to its first record that was never acked.
Around rebalances and recovery, faust-streaming 0.15 can lose a few records
between its fetcher and the streams (faust-streaming issue #596 and related
races): they are never processed, never acked and never fetched again, so the
partition's commit stalls for good while the worker keeps processing the
records after them. Observed here when a second worker joins or a crashed
one is replaced, for one partition in a few runs out of ten.

The repair: when a partition's lowest acked offset has stayed above its
committed offset, with no record of that gap still in flight, for
``checks`` consecutive checks, the driver seeks the partition back to the
committed offset. Records can also be lost after the last acked one, so that
nothing later reveals them: the partition ends past its commit and nothing
is acked (seen in the takeover fault test: a survivor judged records 29-38 of
a partition it took over and never received 39-42); that too counts as a gap,
one that may be in flight. Faust tracks in-flight records weakly, so a lost record can
still look in flight until the garbage collector runs; a gap that persists
for ``patient_checks`` (about half a minute, far longer than any batch takes)
counts as stalled even then. The worker then reads the lost records, and reads the
records after them a second time: a redelivery, which event-id dedupe and
deterministic alert ids make harmless, exactly as after a crash.

>>> watch = StallWatch(checks=2)
>>> stuck = {"p1": PartitionAcks(committed=100, lowest_acked=140, lowest_in_flight=None)}
>>> watch.observe(stuck)  # first sighting: could be a record about to be acked
[]
>>> watch.observe(stuck)
['p1']
>>> watch.observe({"p1": PartitionAcks(100, 140, 100)})  # the gap is being processed
[]
>>> slow = StallWatch(checks=2, patient_checks=3)
>>> [slow.observe({"p1": PartitionAcks(100, 140, 100)}) for _ in range(3)]
[[], [], ['p1']]
>>> read_not_acked = {"p2": PartitionAcks(100, None, None, read=180)}
>>> [slow.observe(read_not_acked) for _ in range(3)]
[[], [], ['p2']]
>>> PartitionAcks(100, None, None, read=99).gap  # all read records are committed
False
>>> PartitionAcks(100, None, None, read=100, highwater=100).gap  # and so is the whole log
False
>>> never_delivered = {"p3": PartitionAcks(39, None, None, read=29, highwater=43)}
>>> [slow.observe(never_delivered) for _ in range(3)]
[[], [], ['p3']]
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class PartitionAcks:
    """One partition's commit bookkeeping, as the consumer sees it now."""

    committed: int | None
    lowest_acked: int | None
    lowest_in_flight: int | None
    read: int | None = None
    """The last offset the consumer handed on (Faust's read offset)."""
    highwater: int | None = None
    """The end of the partition on the broker, as last fetched (None: not known)."""

    @property
    def gap_end(self) -> int | None:
        """Where the uncommitted, unacked stretch ends, if there is one."""
        if self.committed is None:
            return None
        if self.highwater is not None and self.committed >= self.highwater:
            return None  # everything on the broker is committed: nothing can be stuck
        if self.lowest_acked is not None:
            return self.lowest_acked if self.lowest_acked > self.committed else None
        if self.read is not None and self.read >= self.committed:
            return self.read + 1  # read, yet nothing acked
        if self.highwater is not None and self.highwater > self.committed:
            # Records past the commit, none acked: being processed, or never delivered
            # (Faust's read offset is only set by seeks, so it cannot tell which).
            return self.highwater
        return None

    @property
    def gap(self) -> bool:
        """Records from the committed offset on were read but are neither acked nor committed."""
        return self.gap_end is not None

    @property
    def gap_in_flight(self) -> bool:
        """Some record of the gap may still be on its way (queued, being processed, or lost).

        Records read but not acked at all may also still wait in a stream's queue.
        """
        end = self.gap_end
        if end is None or self.committed is None:
            return False
        if self.lowest_acked is None:
            return True
        in_flight = self.lowest_in_flight
        return in_flight is not None and self.committed <= in_flight < end


class StallWatch(Generic[K]):
    """Reports partitions whose gap persisted for ``checks`` consecutive observations."""

    def __init__(self, checks: int = 2, patient_checks: int = 6) -> None:
        self.checks = checks
        self.patient_checks = patient_checks
        self._seen: dict[K, tuple[int | None, int]] = {}

    def observe(self, partitions: Mapping[K, PartitionAcks]) -> list[K]:
        stalled: list[K] = []
        seen: dict[K, tuple[int | None, int]] = {}
        for key, acks in partitions.items():
            if not acks.gap:
                continue
            committed, count = self._seen.get(key, (acks.committed, 0))
            count = count + 1 if committed == acks.committed else 1
            needed = self.patient_checks if acks.gap_in_flight else self.checks
            if count >= needed:
                stalled.append(key)
                continue  # start counting afresh after a rewind
            seen[key] = (acks.committed, count)
        self._seen = seen
        return stalled


def consumer_acks(consumer: Any, topics: Iterable[str]) -> dict[Any, PartitionAcks]:
    """The bookkeeping of a Faust consumer for its assigned partitions of ``topics``.

    Reads Faust's private ``_committed_offset``, ``_acked``, ``_read_offset`` and
    ``_unacked_messages`` (faust-streaming 0.15); there is no public view.
    """
    wanted = set(topics)
    assigned = [tp for tp in consumer.assignment() if tp.topic in wanted]
    in_flight: dict[Any, int] = {}
    for message in list(consumer._unacked_messages):
        if not message.acked and message.tp.topic in wanted:
            known = in_flight.get(message.tp)
            if known is None or message.offset < known:
                in_flight[message.tp] = message.offset
    out: dict[Any, PartitionAcks] = {}
    for tp in assigned:
        acked = consumer._acked.get(tp) or ()
        out[tp] = PartitionAcks(
            committed=consumer._committed_offset.get(tp),
            lowest_acked=min(acked) if acked else None,
            lowest_in_flight=in_flight.get(tp),
            read=consumer._read_offset.get(tp),
            highwater=consumer.highwater(tp) or 0,  # not fetched yet: nothing to wait for
        )
    return out

"""Where replayed events come from: a Kafka topic's time range, or a JSONL file.

Both sources hand the driver batches of validated events in the replay
order (see :mod:`.merge`) and keep the counts a run manifest reports:
messages read, invalid messages by reason, events outside the range, and how
far message timestamps strayed from event times (which says whether the
seek slack was wide enough).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE

from streams.contract import SearchEvent, parse_event
from streams.contract.alert import format_ts
from streams.contract.event_time import ahead_of_record
from streams.errors import ContractError, FrtwatchError
from streams.judge.watermark import Watermark
from streams.replay.kafka_reader import RangeReader
from streams.replay.timerange import TimeRange

PAUSE_ABOVE = 200_000
"""A partition this far ahead (buffered events) stops fetching until the others catch up."""
MAX_REASONS = 20
AHEAD_OF_RECORD = "event time more than the allowed clock skew ahead of its Kafka record timestamp"
NO_TIMESTAMP_TYPE = TIMESTAMP_NOT_AVAILABLE
AHEAD_OF_START = "event time more than the allowed clock skew ahead of the replay's start (a file has no record timestamps)"


def _event_id(event: SearchEvent) -> str:
    """The watermark's tie key: events of equal time are judged in event-id order."""
    return event.event_id


@dataclass(slots=True)
class ReadStats:
    """What reading found, for the run manifest."""

    messages: int = 0
    in_range: int = 0
    out_of_range: int = 0
    invalid: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    lag_min_s: float = math.inf
    lag_max_s: float = -math.inf

    def reject(self, reason: str) -> None:
        self.invalid += 1
        if reason in self.reasons or len(self.reasons) < 1000:
            self.reasons[reason[:160]] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "events_in_range": self.in_range,
            "events_out_of_range": self.out_of_range,
            "invalid_messages": self.invalid,
            "invalid_reasons": dict(self.reasons.most_common(MAX_REASONS)),
            "message_time_minus_event_time_s": (
                {"min": round(self.lag_min_s, 3), "max": round(self.lag_max_s, 3)}
                if self.lag_min_s <= self.lag_max_s
                else None
            ),
        }


class EventSource(Protocol):
    stats: ReadStats
    complete: bool
    """True once everything planned was read (False after a stop)."""

    def open(self) -> dict[str, Any]: ...
    def batches(self, should_stop: Callable[[], bool]) -> Iterator[list[SearchEvent]]: ...
    @property
    def total(self) -> int: ...
    @property
    def done(self) -> int: ...
    @property
    def covered_to(self) -> float: ...
    def position(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


class KafkaSource:
    """Events in ``time_range`` from every partition of ``topic``, merged by event time."""

    unit = "msg"

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        time_range: TimeRange,
        *,
        slack_s: float,
        seek: str = "auto",
        max_clock_skew_s: float = math.inf,
    ) -> None:
        self.reader = RangeReader(bootstrap, topic, time_range, slack_s, seek)
        self.max_clock_skew_s = max_clock_skew_s
        self.time_range = time_range
        self.slack_s = slack_s
        self.stats = ReadStats()
        self._merger: Watermark[SearchEvent] | None = None
        self._paused: set[int] = set()
        self.complete = False

    def open(self) -> dict[str, Any]:
        plans = self.reader.open()
        self._merger = Watermark([p.partition for p in plans if not p.empty], tie=_event_id)
        return {
            "kind": "kafka",
            "bootstrap": self.reader.bootstrap,
            "topic": self.reader.topic,
            "seek": self.reader.seek,
            "slack_s": self.slack_s,
            "partitions": {
                str(p.partition): {
                    "start": p.start,
                    "stop": p.stop,
                    "method": self.reader.methods.get(p.partition),
                }
                for p in plans
            },
        }

    @property
    def total(self) -> int:
        return self.reader.total

    @property
    def done(self) -> int:
        return self.reader.read

    @property
    def covered_to(self) -> float:
        return self._merger.released_to if self._merger is not None else -math.inf

    def position(self) -> dict[str, Any]:
        """Per partition, the next offset read (what a partial run got to)."""
        return {str(p): prog.next_offset for p, prog in self.reader.progress.items()}

    def batches(
        self, should_stop: Callable[[], bool] = lambda: False
    ) -> Iterator[list[SearchEvent]]:
        """Ordered event batches until the plan is read or ``should_stop()`` says so."""
        merger = self._merger
        assert merger is not None, "open() first"
        reader = self.reader
        stats = self.stats
        lo, hi = self.time_range.start, self.time_range.end
        skew = self.max_clock_skew_s
        while reader.active():
            if should_stop():
                return
            chunks, finished = reader.poll()
            for partition, records in chunks:
                stats.messages += len(records)
                items: list[tuple[float, int, int, SearchEvent]] = []
                lag_min, lag_max = stats.lag_min_s, stats.lag_max_s
                newest = last = -math.inf
                in_order = True
                for record in records:
                    try:
                        event = parse_event(record.value())
                    except ContractError as exc:
                        stats.reject(exc.reason)
                        continue
                    ts = event.ts
                    kind, stamp = record.timestamp()
                    if kind == NO_TIMESTAMP_TYPE:
                        stamp = -1
                    if ahead_of_record(ts, stamp, skew):
                        # the worker dead-letters it (streams.contract.event_time)
                        stats.reject(AHEAD_OF_RECORD)
                        continue
                    if ts > newest:
                        newest = ts
                    if stamp >= 0:
                        lag = stamp / 1000.0 - ts
                        if lag < lag_min:
                            lag_min = lag
                        if lag > lag_max:
                            lag_max = lag
                    if lo <= ts < hi:
                        if ts < last:
                            in_order = False
                        last = ts
                        items.append((ts, partition, record.offset(), event))
                    else:
                        stats.out_of_range += 1
                stats.lag_min_s, stats.lag_max_s = lag_min, lag_max
                stats.in_range += len(items)
                merger.extend(partition, items, newest, in_order)
            for partition in finished:
                merger.finish(partition)
            released = merger.release()
            self._balance(merger)
            if released:
                yield [item[3] for item in released]
        self.complete = True
        tail = merger.release()
        if tail:
            yield [item[3] for item in tail]

    def _balance(self, merger: Watermark[SearchEvent]) -> None:
        """Pause partitions far ahead of the others so memory stays bounded."""
        for partition in self.reader.active():
            held = merger.buffered(partition)
            if held > PAUSE_ABOVE and partition not in self._paused:
                self.reader.pause(partition)
                self._paused.add(partition)
            elif held <= PAUSE_ABOVE // 2 and partition in self._paused:
                self.reader.resume(partition)
                self._paused.discard(partition)

    def close(self) -> None:
        self.reader.close()


class FileSource:
    """Events in ``time_range`` from a JSONL file of ``frt.search.v1`` events (one partition)."""

    unit = "B"
    CHUNK_BYTES = 8 * 1024 * 1024

    def __init__(
        self,
        path: Path,
        time_range: TimeRange,
        max_clock_skew_s: float = math.inf,
        clock_reference: float | None = None,
    ) -> None:
        self.path = path
        self.time_range = time_range
        # A file has no record timestamps; nothing in it can be from after the replay
        # started, so that is the reference (recorded in the manifest).
        self.clock_reference = time.time() if clock_reference is None else clock_reference
        self._latest_allowed = self.clock_reference + max_clock_skew_s
        self.stats = ReadStats()
        self._size = 0
        self._done = 0
        self._line = 0
        self._merger: Watermark[SearchEvent] = Watermark([0], tie=_event_id)
        self.complete = False

    def open(self) -> dict[str, Any]:
        try:
            self._size = self.path.stat().st_size
        except OSError as exc:
            raise FrtwatchError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        return {
            "kind": "file",
            "path": str(self.path),
            "bytes": self._size,
            "clock_reference": format_ts(self.clock_reference),
        }

    @property
    def total(self) -> int:
        return self._size

    @property
    def done(self) -> int:
        return self._done

    @property
    def covered_to(self) -> float:
        return self._merger.released_to

    def position(self) -> dict[str, Any]:
        return {"line": self._line, "byte": self._done}

    def batches(
        self, should_stop: Callable[[], bool] = lambda: False
    ) -> Iterator[list[SearchEvent]]:
        """Ordered event batches until the file ends or ``should_stop()`` says so."""
        stats = self.stats
        lo, hi = self.time_range.start, self.time_range.end
        merger = self._merger
        with self.path.open("rb") as handle:
            while not should_stop():
                lines = handle.readlines(self.CHUNK_BYTES)
                if not lines:
                    merger.finish(0)
                    self.complete = True
                    break
                items: list[tuple[float, int, int, SearchEvent]] = []
                newest = last = -math.inf
                in_order = True
                for line in lines:
                    self._line += 1
                    self._done += len(line)
                    if not line.strip():
                        continue
                    stats.messages += 1
                    try:
                        event = parse_event(line)
                    except ContractError as exc:
                        stats.reject(exc.reason)
                        continue
                    ts = event.ts
                    if ts > self._latest_allowed:
                        stats.reject(AHEAD_OF_START)
                        continue
                    if ts > newest:
                        newest = ts
                    if lo <= ts < hi:
                        if ts < last:
                            in_order = False
                        last = ts
                        items.append((ts, 0, self._line, event))
                    else:
                        stats.out_of_range += 1
                stats.in_range += len(items)
                merger.extend(0, items, newest, in_order)
                released = merger.release()
                if released:
                    yield [item[3] for item in released]
        tail = merger.release()
        if tail:
            yield [item[3] for item in tail]

    def close(self) -> None:
        pass

"""Where raw records come from: files (``.gz`` too), standard input, or a raw-logs topic.

Each raw record travels with the coordinates a dead letter names: a file's records
as topic ``file:<path>`` (``stdin`` for standard input), partition 0 and the line
number as offset; a topic's records with their real topic, partition and offset.
Lines are read as bytes and capped: a line longer than the cap is cut and still
delivered, so the parser rejects it instead of the reader buffering without bound.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from streams.contract.dead_letter import SourceCoordinates
from streams.errors import BrokerError, FrtwatchError
from streams.kafka_client import kafka_python_kwargs
from streams.sources.pipeline import RawLine
from streams.sources.records import MAX_LINE_BYTES

_READ_CAP = MAX_LINE_BYTES + 1


def _lines(handle: IO[bytes], name: str, done: Callable[[int], None]) -> Iterator[RawLine]:
    number = 0
    while True:
        line = handle.readline(_READ_CAP)
        if not line:
            return
        number += 1
        if len(line) == _READ_CAP and not line.endswith(b"\n"):
            while True:  # skip the rest of an over-long line; the cut part is rejected
                rest = handle.readline(_READ_CAP)
                if not rest or rest.endswith(b"\n"):
                    break
        done(len(line))
        yield line.rstrip(b"\r\n"), SourceCoordinates(name, 0, number)


def _open(path: Path) -> IO[bytes]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return path.open("rb")
    except OSError as exc:
        raise FrtwatchError(f"cannot read {path}: {exc.strerror or exc}") from None


def file_lines(paths: Sequence[Path], progress: bool) -> Iterator[RawLine]:
    """Every line of every file, with a progress bar (bytes, lines/s) on stderr."""
    sizes = []
    for path in paths:
        try:
            sizes.append(path.stat().st_size)
        except OSError as exc:
            raise FrtwatchError(f"cannot read {path}: {exc.strerror or exc}") from None
    with _progress(progress, sum(sizes)) as advance:
        for path in paths:
            handle = _open(path)
            with handle:
                if path.suffix == ".gz":
                    raw = handle.fileobj  # type: ignore[attr-defined]
                    last = [0]

                    def done(_n: int, raw: Any = raw, last: list[int] = last) -> None:
                        now = raw.tell()
                        advance(now - last[0])
                        last[0] = now

                    yield from _lines(handle, f"file:{path}", done)
                else:
                    yield from _lines(handle, f"file:{path}", advance)


def stdin_lines(handle: IO[bytes]) -> Iterator[RawLine]:
    """Lines of standard input as they arrive (``tail -F access.log | frtwatch ingest ...``)."""
    yield from _lines(handle, "stdin", lambda _n: None)


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("[bold]ingest"),
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("ingest", total=max(total, 1))
        pending = [0]

        def advance(n: int) -> None:
            pending[0] += n
            if pending[0] >= 65_536:
                bar.advance(task, pending[0])
                pending[0] = 0

        yield advance
        bar.advance(task, pending[0])


class TopicReader:
    """Raw records from a Kafka topic in a consumer group, in batches; ``commit`` after each
    batch's output is confirmed, so a restart resumes after the last confirmed batch."""

    def __init__(self, bootstrap: str, topic: str, group: str, until_end: bool) -> None:
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError

        self.topic = topic
        self.until_end = until_end
        try:
            self.consumer = KafkaConsumer(
                bootstrap_servers=bootstrap,
                **kafka_python_kwargs(),
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=1024 * 1024,
            )
            partitions = self.consumer.partitions_for_topic(topic)
            deadline = time.monotonic() + 10
            while not partitions and time.monotonic() < deadline:
                time.sleep(0.2)
                partitions = self.consumer.partitions_for_topic(topic)
            if not partitions:
                raise BrokerError(f"topic {topic} does not exist at {bootstrap}")
            self.tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            self.consumer.assign(self.tps)
            self.ends = self.consumer.end_offsets(self.tps) if until_end else {}
        except KafkaError as exc:
            raise BrokerError(f"cannot read {topic} at {bootstrap}: {exc}") from None

    def batches(self) -> Iterator[list[RawLine]]:
        while True:
            polled = self.consumer.poll(timeout_ms=500, max_records=2000)
            batch: list[RawLine] = []
            for records in polled.values():
                for record in records:
                    value = record.value if record.value is not None else b""
                    origin = SourceCoordinates(record.topic, record.partition, record.offset)
                    batch.append((value.rstrip(b"\r\n"), origin))
            yield batch
            if self.until_end and all(
                self.consumer.position(tp) >= end for tp, end in self.ends.items()
            ):
                return

    def commit(self) -> None:
        self.consumer.commit()

    def close(self) -> None:
        self.consumer.close()


def stats_every(seconds: float, report: Callable[[], None]) -> Callable[[], None]:
    """A tick that calls ``report`` at most every ``seconds`` (metrics on long streams)."""
    last = [time.monotonic()]

    def tick() -> None:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            report()

    return tick

"""Where ingest output goes: the input topic and its dead-letter topic, or JSONL files.

Events are sent with the project's producer (:func:`streams.producing.produce_lines`:
key ``<agency>/<user>``, every send acknowledged before the call returns); dead letters
are written beside them with the contract's dead-letter headers
(:func:`streams.contract.dead_letter.dead_letter`: the raw line as the value, ``frt-dlq-reason``,
``frt-dlq-source-*``), plus ``frt-ingest-format`` naming the parser that refused it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from streams.contract.dead_letter import dead_letter
from streams.errors import BrokerError, FrtwatchError
from streams.producing import make_producer, produce_lines
from streams.sources.pipeline import DeadOut, EventOut, Output

HEADER_FORMAT = "frt-ingest-format"


class KafkaSink:
    """Events to ``topic``, dead letters to ``dlq_topic``, through one producer."""

    def __init__(
        self, bootstrap: str, topic: str, dlq_topic: str, fmt: str, timestamps: str = "now"
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.fmt = fmt
        self.timestamps = timestamps
        self.producer = make_producer(bootstrap)
        self.dead_sent = 0
        self._dead_failed: list[BaseException] = []
        self._dead_acked = 0

    def _dead(self, out: DeadOut) -> None:
        from kafka.errors import KafkaError

        letter = dead_letter(
            None, out.raw, out.reason, out.origin, [(HEADER_FORMAT, self.fmt.encode())]
        )
        try:
            future = self.producer.send(
                self.dlq_topic, key=letter.key, value=letter.value, headers=letter.headers
            )
        except KafkaError as exc:
            raise BrokerError(f"cannot produce to {self.dlq_topic}: {exc}") from None
        future.add_callback(self._acked).add_errback(self._dead_failed.append)
        self.dead_sent += 1

    def _acked(self, _metadata: Any) -> None:
        self._dead_acked += 1

    def write(self, outputs: Iterable[Output]) -> int:
        """Send everything; return the events sent (after every acknowledgement)."""

        def events() -> Iterator[bytes]:
            for out in outputs:
                if isinstance(out, EventOut):
                    yield out.value
                else:
                    self._dead(out)

        stats = produce_lines(
            events(), self.topic, self.bootstrap, "agency-user",
            timestamps=self.timestamps, producer=self.producer,
        )  # fmt: skip
        if self._dead_failed or self._dead_acked != self.dead_sent:
            reason = self._dead_failed[0] if self._dead_failed else "not acknowledged in time"
            raise BrokerError(f"dead letters to {self.dlq_topic} failed: {reason}")
        return stats.messages

    def close(self) -> None:
        self.producer.close(timeout=10)


class FileSink:
    """Events as JSON lines in one file, dead letters as JSON lines in another
    (``{"reason", "raw", "source_topic", "source_partition", "source_offset"}``)."""

    def __init__(self, events: Path, dead_letters: Path) -> None:
        self.events_path = events
        self.dead_path = dead_letters
        self.dead_sent = 0
        try:
            self._events: IO[bytes] = events.open("wb")
            self._dead: IO[bytes] = dead_letters.open("wb")
        except OSError as exc:
            raise FrtwatchError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None

    def write(self, outputs: Iterable[Output]) -> int:
        sent = 0
        for out in outputs:
            if isinstance(out, EventOut):
                self._events.write(out.value + b"\n")
                sent += 1
            else:
                record = {
                    "reason": out.reason,
                    "raw": out.raw.decode("utf-8", "backslashreplace"),
                    "source_topic": out.origin.topic,
                    "source_partition": out.origin.partition,
                    "source_offset": out.origin.offset,
                }
                self._dead.write(orjson.dumps(record) + b"\n")
                self.dead_sent += 1
        self._events.flush()
        self._dead.flush()
        return sent

    def close(self) -> None:
        self._events.close()
        self._dead.close()

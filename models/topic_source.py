"""Training events from a Kafka topic's time range (kafka-python; no consumer group).

The range is by Kafka record timestamp, half-open ``[from, to)``. For each
partition, ``offsets_for_times`` gives the first offset stamped at or after
``from`` (where reading starts) and the first stamped at or after ``to``
(where it stops); records in between stamped outside the range are skipped.
Producers that stamp records with the event time (the simulator and
``frtwatch produce`` do) therefore give exactly the events of the range.

The consumer is assigned partitions directly and never joins a group or
commits offsets: training reads history without disturbing the worker's
positions. It never creates the topic either.
"""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from models.dataset import EventBatch
from streams.contract import SearchEvent, parse_event
from streams.errors import ContractError, ModelError
from streams.kafka_client import kafka_python_kwargs

POLL_MS = 500
STALL_S = 30.0


def read_topic_range(
    topic: str, bootstrap: str, range_from: float, range_to: float, *, stall_s: float = STALL_S
) -> EventBatch:
    """Every valid event in ``topic`` stamped in ``[range_from, range_to)`` (epoch seconds)."""
    if range_to <= range_from:
        raise ModelError("the training range is empty: --to must be later than --from")
    start_ms, stop_ms = int(range_from * 1000), int(range_to * 1000)
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            **kafka_python_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            client_id="frtwatch-model-train",
        )
    except KafkaError as exc:
        raise ModelError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise ModelError(f"topic {topic!r} does not exist on {bootstrap}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        starts = consumer.offsets_for_times(dict.fromkeys(tps, start_ms))
        stops = consumer.offsets_for_times(dict.fromkeys(tps, stop_ms))
        ends = consumer.end_offsets(tps)
        spans: dict[TopicPartition, tuple[int, int]] = {}
        for tp in tps:
            begin = starts.get(tp)
            if begin is None:  # nothing stamped at or after range_from
                continue
            stop = stops.get(tp)
            end = stop.offset if stop is not None else ends[tp]
            if end > begin.offset:
                spans[tp] = (begin.offset, end)
        events, rejected = _consume(consumer, spans, start_ms, stop_ms, stall_s)
    except KafkaError as exc:
        raise ModelError(f"reading {topic!r} from {bootstrap} failed: {exc}") from None
    finally:
        consumer.close()
    return EventBatch(events=events, rejected=rejected, source=f"topic:{topic}@{bootstrap}")


def _consume(
    consumer: KafkaConsumer,
    spans: dict[TopicPartition, tuple[int, int]],
    start_ms: int,
    stop_ms: int,
    stall_s: float,
) -> tuple[list[SearchEvent], int]:
    events: list[SearchEvent] = []
    rejected = 0
    if not spans:
        return events, rejected
    consumer.assign(list(spans))
    for tp, (begin, _) in spans.items():
        consumer.seek(tp, begin)
    pending = set(spans)
    last_progress = time.monotonic()
    while pending:
        batches = consumer.poll(timeout_ms=POLL_MS)
        if batches:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > stall_s:
            raise ModelError(
                f"no records for {stall_s:.0f} s while reading the training range "
                f"({len(pending)} partitions unfinished)"
            )
        for tp, records in batches.items():
            end = spans[tp][1]
            for record in records:
                if record.offset >= end:
                    break
                if not start_ms <= record.timestamp < stop_ms:
                    continue
                try:
                    events.append(parse_event(record.value))
                except ContractError:
                    rejected += 1
        for tp in list(pending):
            if consumer.position(tp) >= spans[tp][1]:
                pending.discard(tp)
                consumer.pause(tp)
    return events, rejected

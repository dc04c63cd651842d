"""Read a compacted topic once, to its end offsets at the start: how replay (and the
console) load the certifications and exceptions topics, with kafka-python, every
partition assigned, no consumer group."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams.errors import BrokerError
from streams.replay.kafka_reader import consumer_config


def read_compacted_topic(
    apply: Callable[[bytes | None, bytes | None], object],
    bootstrap: str,
    topic: str,
    *,
    client_id: str,
    timeout_s: float = 60.0,
    what: str = "topic",
) -> tuple[bool, int]:
    """Hand every record of ``topic`` (up to its end offsets now) to ``apply``, in offset
    order per partition; (whether the topic exists, records read)."""
    try:
        consumer = KafkaConsumer(**consumer_config(bootstrap, client_id))
    except KafkaError:
        raise BrokerError(f"no Kafka broker answers at {bootstrap}") from None
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return False, 0
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records = 0
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise BrokerError(f"reading {what} {topic!r} timed out")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                for record in batch:
                    if record.offset < ends[tp]:
                        apply(record.key, record.value)
                        records += 1
            for tp in list(pending):
                if consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return True, records
    except KafkaError as exc:
        raise BrokerError(f"cannot read {what} {topic!r}: {exc}") from None
    finally:
        consumer.close(autocommit=False)

"""The exceptions topic as a replay sees it: the policy's file, then the whole topic on top.

This is what a worker does at start-up before it judges its first event
(:mod:`streams.worker.app` runs a feed on the topic), with the same record code
(:class:`~streams.exceptions.records.ExceptionRecords`), so a replay with the same
exceptions gives the same alerts. Exceptions are judged at each event's own time,
so a replay of last quarter applies the exceptions that covered it then, as long
as they are still on the topic (a withdrawn exception is gone from it).
``--exceptions FILE`` replays with a file's exceptions instead of the topic's.
The topic is read with kafka-python, every partition assigned, no consumer group.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams.errors import BrokerError
from streams.exceptions.records import ExceptionRecords
from streams.replay.certificates import TopicLoad
from streams.replay.kafka_reader import consumer_config


def read_compacted_topic(
    apply: Callable[[bytes | None, bytes | None], object],
    bootstrap: str,
    topic: str,
    *,
    client_id: str,
    timeout_s: float = 60.0,
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
                raise BrokerError(f"reading topic {topic!r} timed out")
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
        raise BrokerError(f"cannot read topic {topic!r}: {exc}") from None
    finally:
        consumer.close(autocommit=False)


def apply_exceptions_topic(
    records: ExceptionRecords, bootstrap: str, topic: str, timeout_s: float = 60.0
) -> TopicLoad:
    """Apply every record of the exceptions ``topic`` (up to its end now) to ``records``."""
    pending: list[tuple[bytes | None, bytes | None]] = []
    found, count = read_compacted_topic(
        lambda key, value: pending.append((key, value)),
        bootstrap,
        topic,
        client_id="frtwatch-replay-exceptions",
        timeout_s=timeout_s,
    )
    applied, rejected = records.applied, records.rejected
    records.apply_all(pending)
    return TopicLoad(topic, found, count, records.applied - applied, records.rejected - rejected)

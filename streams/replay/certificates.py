"""The certifications topic as a replay sees it: the CSV, then the whole compacted topic on top.

This is what a worker does at start-up before it judges its first event
(:mod:`streams.worker.certificates_feed`), and a replay applies the records with the
same code, so both judge certificates against the same registry. The topic
is read with kafka-python, every partition assigned, no consumer group.

A compacted topic holds the *current* registry, not its history: a replay
of last quarter judges each event against today's certificates (whose
validity dates still apply at the event's own time). A certificate revoked
since then (a null record) counts as never held. ``--no-certifications-topic``
replays against the CSV alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams.errors import BrokerError
from streams.policy import CertificateRegistry
from streams.policy.certificate_records import CertificateRecords
from streams.replay.kafka_reader import consumer_config


@dataclass(frozen=True, slots=True)
class TopicLoad:
    """What reading the certifications topic did."""

    topic: str
    found: bool
    records: int = 0
    applied: int = 0
    rejected: int = 0


def apply_certifications_topic(
    registry: CertificateRegistry, bootstrap: str, topic: str, timeout_s: float = 60.0
) -> TopicLoad:
    """Apply every record of ``topic`` (up to its end offsets now) to ``registry``."""
    feed = CertificateRecords(registry)
    try:
        consumer = KafkaConsumer(**consumer_config(bootstrap, "frtwatch-replay-certificates"))
    except KafkaError:
        raise BrokerError(f"no Kafka broker answers at {bootstrap}") from None
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return TopicLoad(topic, found=False)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records = 0
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise BrokerError(f"reading certifications topic {topic!r} timed out")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                for record in batch:
                    if record.offset < ends[tp]:
                        feed.apply(record.key, record.value)
                        records += 1
            for tp in list(pending):
                if consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return TopicLoad(topic, True, records, feed.applied, feed.rejected)
    except KafkaError as exc:
        raise BrokerError(f"cannot read certifications topic {topic!r}: {exc}") from None
    finally:
        consumer.close(autocommit=False)

"""Send a run's alerts to a Kafka topic, keyed by ``alert_id`` like the live worker's.

A consumer of the live alert topic already treats a known ``alert_id`` as an
update, so publishing a replay into the same topic only adds alerts the live
run did not raise and refreshes the rest; publishing into a separate topic
lets a SIEM or the console look at a backtest without mixing it in.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from streams.contract.alert import Alert
from streams.errors import BrokerError
from streams.kafka_client import kafka_python_kwargs


def publish_alerts(bootstrap: str, topic: str, alerts: Iterable[Alert]) -> int:
    """Send each alert (its latest message) and wait until the broker has them all."""
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            **kafka_python_kwargs(),
            client_id="frtwatch-replay-publish",
            acks="all",
            linger_ms=20,
            batch_size=512 * 1024,
            max_block_ms=15_000,
            enable_idempotence=True,
        )
    except KafkaError:
        raise BrokerError(f"no Kafka broker answers at {bootstrap}") from None
    sent = 0
    try:
        if not producer.partitions_for(topic):
            raise BrokerError(f"alert topic {topic!r} does not exist on {bootstrap}")
        futures = []
        for alert in alerts:
            futures.append(
                producer.send(
                    topic,
                    key=alert.alert_id.encode("utf-8"),
                    value=orjson.dumps(alert.to_dict()),
                )
            )
        producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=60)
            sent += 1
    except KafkaTimeoutError:
        raise BrokerError(
            f"publishing to {topic!r} timed out after {sent} alerts (does the topic exist?)"
        ) from None
    except KafkaError as exc:
        raise BrokerError(f"publishing to {topic!r} failed after {sent} alerts: {exc}") from None
    finally:
        producer.close(timeout=10)
    return sent

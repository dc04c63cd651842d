"""Topics are created with their retention, and ``frtwatch kafka topics`` shows and applies it."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from streams import retention
from streams.settings import TopicNames, load_settings
from streams.worker.topics import ensure_topics
from tests.integration.worker_harness import FRTWATCH

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_the_worker_creates_its_topics_with_their_retention_and_the_command_repairs_drift(
    kafka_bootstrap: str, topic_names: TopicNames, unique_name: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    env.update(
        FRTWATCH_BOOTSTRAP=kafka_bootstrap, FRTWATCH_APP_ID=f"frtwatch-ret-{unique_name}",
        FRTWATCH_TOPIC_EVENTS=topic_names.events, FRTWATCH_TOPIC_DLQ=topic_names.dlq,
        FRTWATCH_TOPIC_CERTIFICATIONS=topic_names.certifications,
        FRTWATCH_TOPIC_ALERTS=topic_names.alerts, FRTWATCH_TOPIC_WEBHOOK_DLQ=topic_names.webhook_dlq,
        FRTWATCH_TOPIC_TRIAGE=topic_names.triage, FRTWATCH_TOPIC_EXCEPTIONS=topic_names.exceptions,
        FRTWATCH_TOPIC_MODELS=topic_names.models, FRTWATCH_RETENTION_EVENTS="730d",
    )  # fmt: skip
    settings = load_settings(env)
    asyncio.run(ensure_topics(settings))

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        rows = {r.topic: r for r in retention.inspect(admin, settings)}
        created = [topic_names.events, topic_names.dlq, topic_names.alerts,
                   topic_names.certifications, topic_names.exceptions, topic_names.models,
                   f"{settings.app_id}-events-by-agency"]  # fmt: skip
        for name in created:
            assert rows[name].in_step, rows[name].line()
        assert rows[topic_names.events].actual == {
            "cleanup.policy": "delete", "retention.ms": str(730 * 86_400_000)
        }  # fmt: skip
        assert rows[f"{settings.app_id}-events-by-agency"].actual["retention.ms"] == str(
            7 * 86_400_000
        )
        assert rows[topic_names.certifications].actual["cleanup.policy"] == "compact"
        # Someone shortens the input topic's retention by hand.
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic_names.events,
                            configs={"retention.ms": "3600000"})]
        )  # fmt: skip
    finally:
        admin.close()

    def kafka_topics(*extra: str) -> str:
        done = subprocess.run([str(FRTWATCH), "kafka", "topics", *extra], env=env,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    shown = kafka_topics()
    assert f"{topic_names.events}: delete, 1h  WANTED delete, 730d" in shown
    assert f"{topic_names.dlq}: delete, 90d  ok" in shown
    applied = kafka_topics("--apply")
    assert f"changed 1 topic(s): {topic_names.events}" in applied
    assert f"{topic_names.events}: delete, 730d  ok" in applied

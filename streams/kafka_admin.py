"""Topic housekeeping shared by the worker and the console (aiokafka's admin client)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

TOPIC_ALREADY_EXISTS = 36
"""Kafka's error code when another client created the topic first (a harmless race)."""


async def create_missing(
    admin: AIOKafkaAdminClient, wanted: list[NewTopic], log: logging.Logger
) -> list[str]:
    """Create the topics of ``wanted`` that do not exist; returns the names created.
    An existing topic is never changed; a topic the broker refuses is logged."""
    existing = set(await admin.list_topics())
    missing = [t for t in wanted if t.name not in existing]
    if not missing:
        return []
    response = await admin.create_topics(missing)
    created = []
    for name, code, *_ in response.topic_errors:
        if code == 0:
            created.append(name)
        elif code != TOPIC_ALREADY_EXISTS:
            log.warning("could not create topic %s (Kafka error code %s)", name, code)
    if created:
        log.info("created topics: %s", ", ".join(created))
    return created


async def wait_for_leaders(
    admin: AIOKafkaAdminClient, topics: list[str], every_s: float = 0.2
) -> dict[str, list[int]]:
    """The partitions of each of ``topics``, once every one has a leader (a fresh topic
    takes a moment before the broker serves it)."""
    while True:
        ready: dict[str, list[int]] = {}
        for described in await admin.describe_topics(topics):
            partitions = described.get("partitions") or ()
            if partitions and all(p.get("leader", -1) >= 0 for p in partitions):
                ready[described.get("topic")] = [p["partition"] for p in partitions]
        if set(ready) >= set(topics):
            return ready
        await asyncio.sleep(every_s)

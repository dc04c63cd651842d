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

from streams.exceptions.records import ExceptionRecords
from streams.replay.certificates import TopicLoad
from streams.replay.compacted_topic import read_compacted_topic


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

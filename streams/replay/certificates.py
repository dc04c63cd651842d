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

from dataclasses import dataclass

from streams.policy import CertificateRegistry
from streams.policy.certificate_records import CertificateRecords
from streams.replay.compacted_topic import read_compacted_topic


@dataclass(frozen=True, slots=True)
class TopicLoad:
    """What reading a compacted topic (certifications, exceptions) did."""

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
    found, records = read_compacted_topic(
        feed.apply,
        bootstrap,
        topic,
        client_id="frtwatch-replay-certificates",
        timeout_s=timeout_s,
        what="certifications topic",
    )
    if not found:
        return TopicLoad(topic, found=False)
    return TopicLoad(topic, True, records, feed.applied, feed.rejected)

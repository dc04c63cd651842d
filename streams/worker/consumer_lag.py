"""Consumer lag of a worker's groups, and the moment it reaches zero.

Throughput is measured from the outside, the way an operator sees it: the
time from a consumer's start until its group has committed every offset of
the topics it reads (lag 0). A committed offset means the consumer has
finished the record (the worker commits only after everything a record
caused is confirmed by the broker), so this is the honest end of the work;
it includes the consumer's commit interval, which is reported beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streams.kafka_client import kafka_python_kwargs
from streams.worker.ingest.stage import ingest_group


@dataclass(frozen=True, slots=True)
class LagSample:
    """One observation: seconds since the watch began, records not yet committed."""

    at_s: float
    lag: int


def ingest_stage_group(app_id: str) -> str:
    """The Faust group of a process that runs the ingest stage alone
    (``frtwatch worker --stage ingest``): its Faust app consumes nothing, in a group apart.

    >>> ingest_stage_group("frtwatch")
    'frtwatch-ingest-stage'
    """
    return f"{app_id}-ingest-stage"


def worker_groups(app_id: str) -> list[str]:
    """The consumer groups of a worker: its Faust app (internal topic) and its ingest stage.

    >>> worker_groups("frtwatch")
    ['frtwatch', 'frtwatch-ingest']
    """
    return [app_id, ingest_group(app_id)]


class LagWatch:
    """Polls the committed offsets of ``groups`` against the end offsets of ``topics``
    (the worker commits its input in its ingest group, the rest in its app group)."""

    def __init__(self, bootstrap: str, groups: Sequence[str], topics: Sequence[str]) -> None:
        self.groups = list(groups)
        self.group = "+".join(self.groups)
        self.topics = list(topics)
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, **kafka_python_kwargs())
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, **kafka_python_kwargs(), enable_auto_commit=False
        )
        self._partitions: list[TopicPartition] = []

    def close(self) -> None:
        self._admin.close()
        self._consumer.close()

    def __enter__(self) -> LagWatch:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _tps(self) -> list[TopicPartition]:
        if len(self._partitions) < len(self.topics):
            found: list[TopicPartition] = []
            for topic in self.topics:
                parts = self._consumer.partitions_for_topic(topic) or set()
                found += [TopicPartition(topic, p) for p in sorted(parts)]
            if {tp.topic for tp in found} == set(self.topics):
                self._partitions = found
            return found
        return self._partitions

    def committed(self) -> dict[TopicPartition, int]:
        found: dict[TopicPartition, int] = {}
        for group in self.groups:
            offsets = self._admin.list_group_offsets({group: None}).get(group, {})
            for tp, meta in offsets.items():
                found[TopicPartition(tp.topic, tp.partition)] = meta.offset
        return found

    def lag(self) -> tuple[int, int] | None:
        """``(records not committed, records committed on the first topic)``.

        None until every topic exists.
        """
        tps = self._tps()
        if {tp.topic for tp in tps} != set(self.topics):
            return None
        committed = self.committed()  # first: ends read after it can only be larger
        ends = self._consumer.end_offsets(tps)
        behind = sum(max(0, end - max(committed.get(tp, 0), 0)) for tp, end in ends.items())
        first = self.topics[0]
        done = sum(max(v, 0) for tp, v in committed.items() if tp.topic == first)
        return behind, done

    def wait_zero(
        self,
        expected: int,
        *,
        timeout_s: float,
        every_s: float = 0.25,
        alive: Callable[[], bool] = lambda: True,
        samples: list[LagSample] | None = None,
    ) -> float:
        """Seconds until lag is 0 with at least ``expected`` records of the first topic committed.

        Raises TimeoutError, or RuntimeError when ``alive()`` turns false.
        """
        began = time.monotonic()
        while True:
            seen = self.lag()
            now = time.monotonic() - began
            if seen is not None:
                behind, done = seen
                if samples is not None:
                    samples.append(LagSample(round(now, 3), behind))
                if behind == 0 and done >= expected:
                    return now
            if not alive():
                raise RuntimeError(f"consumer group {self.group} lost its consumer ({seen})")
            if now > timeout_s:
                raise TimeoutError(f"group {self.group} not done after {timeout_s:.0f}s ({seen})")
            time.sleep(every_s)

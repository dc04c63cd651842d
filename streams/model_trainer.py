"""The trainer: keeps the behaviour model current from the stream's own history.

``frtwatch model trainer`` runs it; ``frtwatch worker`` starts one in a process of its
own unless told not to (``--trainer off``), so a fresh deployment needs no manual
step. Every ``--every`` seconds it asks :func:`models.schedule.next_step` what to do,
from the events topic's span and the versions on the models topic:

* **train**: read the events of ``[history_from, cutoff)`` from the topic (by
  record timestamp, as ``frtwatch model train --topic`` does), fit and calibrate with
  :func:`models.train.fit` (the stream's own feature code), and publish the
  artifact and its card to the models topic as a version applying from
  ``applies_from``. Too few users with enough searches: nothing is published, and
  the same cutoff is not tried again;
* **decide** on a shadow version: compare it with the version in force over its
  shadow period's events (:func:`models.compare.compare_models`, the users' feature
  windows built from the week before), then publish it again as active (promoted) or
  rejected, with the reason.

Training runs here, never in the worker's hot path. Every decision is by event
time and training is seeded. Run one trainer per deployment: two would each publish
a version for the same cutoff (under different names: a skops archive is not
byte-for-byte reproducible).

Kafka record timestamps must be the events' times (``frtwatch produce`` and
``frtwatch simulate --produce`` stamp them so); the topic's span is read from the
first and last record of each partition.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from models.schedule import Decide, Train, Wait, judge_shadow, next_step
from models.versions import ACTIVE, REJECTED
from streams.contract.alert import format_ts
from streams.errors import BrokerError, FrtwatchError, ModelError
from streams.kafka_client import kafka_python_kwargs
from streams.model_topic import TopicVersions, publish_record, read_versions
from streams.policy import Policy
from streams.settings import Settings

log = logging.getLogger("frtwatch.trainer")

DEFAULT_EVERY_S = 30.0
COMPARE_WARMUP_S = 7 * 86400.0
"""Events read before a shadow period to build the feature windows its rows are scored on."""


@dataclass(frozen=True, slots=True)
class Span:
    """The first and last record times of the events topic (epoch seconds)."""

    first_ts: float | None
    last_ts: float | None


def topic_span(settings: Settings) -> Span:
    """The events topic's first and last record timestamps (None for an empty topic)."""
    topic = settings.topics.events
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap.split(","),
            **kafka_python_kwargs(settings.kafka),
            client_id=f"{settings.app_id}-trainer-span",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            max_poll_records=1,
        )
    except KafkaError:
        raise BrokerError(f"no Kafka broker answers at {settings.bootstrap}") from None
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return Span(None, None)
        begins, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        stamps: list[int] = []
        for tp in tps:
            if ends[tp] <= begins[tp]:
                continue
            for offset in {begins[tp], ends[tp] - 1}:
                stamp = _stamp_at(consumer, tp, offset)
                if stamp is not None:
                    stamps.append(stamp)
        if not stamps:
            return Span(None, None)
        return Span(min(stamps) / 1000.0, max(stamps) / 1000.0)
    except KafkaError as exc:
        raise BrokerError(f"cannot read the span of {topic!r}: {exc}") from None
    finally:
        consumer.close(autocommit=False)


def _stamp_at(consumer: KafkaConsumer, tp: TopicPartition, offset: int) -> int | None:
    consumer.assign([tp])
    consumer.seek(tp, offset)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500, max_records=1).values():
            for record in records:
                return int(record.timestamp)
    return None


class Trainer:
    """One deployment's trainer (see the module doc)."""

    def __init__(self, settings: Settings, policy: Policy) -> None:
        self.settings = settings
        self.policy = policy
        self.rules = policy.behavior_anomaly.training
        self.hours = policy.local_hours()
        self._tried: set[float] = set()  # cutoffs with too little history: not again
        self._said = ""

    def step(self) -> str:
        """Do what is due now; one line saying what was done (or why nothing)."""
        span = topic_span(self.settings)
        versions = read_versions(self.settings, client_id=f"{self.settings.app_id}-trainer")
        step = next_step(self.rules, first_ts=span.first_ts, last_ts=span.last_ts,
                         versions=versions.published(),
                         lateness_s=self.settings.allowed_lateness_s)  # fmt: skip
        if isinstance(step, Wait):
            return f"waiting: {step.reason}"
        if isinstance(step, Train):
            if step.cutoff in self._tried:
                return f"waiting: too little history at cutoff {format_ts(step.cutoff)}"
            return self._train(step)
        return self._decide(step, versions)

    def _train(self, step: Train) -> str:
        from models.artifact import save_artifact
        from models.topic_source import read_topic_range
        from models.train import fit
        from models.version_record import encode, version_name

        rules = self.rules
        batch = read_topic_range(self.settings.topics.events, self.settings.bootstrap,
                                 step.history_from, step.cutoff)  # fmt: skip
        try:
            result = fit(batch, range_from=step.history_from, range_to=step.cutoff,
                         hours=self.hours)  # fmt: skip
        except ModelError as exc:
            self._tried.add(step.cutoff)
            return f"not trained at cutoff {format_ts(step.cutoff)}: {exc}"
        users = len(set(result.rows.user_index.tolist()))
        if users < rules.min_users:
            self._tried.add(step.cutoff)
            return (f"not trained at cutoff {format_ts(step.cutoff)}: {users} users with "
                    f"enough searches, the policy wants {rules.min_users} (training.min_users)")  # fmt: skip
        card = dict(result.card)
        card["training"] = dict(card["training"], cutoff=format_ts(step.cutoff),
                                reason=step.reason)  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="frtwatch-trainer-") as tmp:
            path = Path(tmp) / "behavior.skops"
            written = save_artifact(result.forest, path, card)
            name = version_name(written, time.strftime("%Y-%m-%d", time.gmtime(step.cutoff)))
            key, value = encode(path, role=step.role, applies_from=step.applies_from,
                                version=name, reason=step.reason,
                                published_at=time.time())  # fmt: skip
        publish_record(self.settings, key, value)
        return (f"published version {name} ({step.role}, applies from "
                f"{format_ts(step.applies_from)}): {step.reason}; trained on "
                f"{card['training']['event_count']} events of {users} users up to "
                f"{format_ts(step.cutoff)}, threshold {card['threshold']:.4f}")  # fmt: skip

    def _decide(self, step: Decide, versions: TopicVersions) -> str:
        from models.compare import compare_models
        from models.topic_source import read_topic_range

        timeline = versions.timeline(self.hours)
        shadow = timeline.get(step.shadow)
        if shadow is None:
            return f"waiting: shadow version {step.shadow} does not load ({versions.refused})"
        if not step.current:
            role, reason = ACTIVE, "promoted: no version was in force to compare with"
        else:
            current = timeline.get(step.current)
            if current is None:
                return f"waiting: version {step.current} in force does not load"
            # A week before the shadow period builds the users' feature windows.
            batch = read_topic_range(self.settings.topics.events, self.settings.bootstrap,
                                     step.since - COMPARE_WARMUP_S, step.until)  # fmt: skip
            compared = compare_models(current.model, shadow.model, batch.events, self.hours,
                                      score_from=step.since)  # fmt: skip
            verdict = judge_shadow(
                self.rules,
                current_flagged=len(compared.flagged_both) + len(compared.current_only),
                candidate_flagged=len(compared.flagged_both) + len(compared.candidate_only),
                spearman=compared.row_spearman,
            )
            role = ACTIVE if verdict.promote else REJECTED
            reason = ("promoted: " if verdict.promote else "rejected: ") + verdict.reason
        return republish(self.settings, step.shadow, role, step.applies_from, reason, versions)

    def run(self, every_s: float = DEFAULT_EVERY_S, stop: Callable[[], bool] | None = None) -> None:
        """Step every ``every_s`` seconds until ``stop()`` says so; errors are logged and
        the trainer goes on (a broker away, a bad record)."""
        while stop is None or not stop():
            try:
                said = self.step()
            except FrtwatchError as exc:
                said = f"error: {exc}"
            except Exception as exc:  # keep the trainer alive; the log says why
                log.exception("the trainer's step failed")
                said = f"error: {exc!r}"
            if said != self._said:
                (log.warning if said.startswith("error") else log.info)("trainer: %s", said)
                self._said = said
            deadline = time.monotonic() + every_s
            while time.monotonic() < deadline and (stop is None or not stop()):
                time.sleep(min(1.0, every_s))


def republish(
    settings: Settings,
    name: str,
    role: str,
    applies_from: float,
    reason: str,
    versions: TopicVersions,
) -> str:
    """Publish a version the topic holds again, as ``role`` from ``applies_from``."""
    import json

    value = versions.values.get(name)
    if value is None:
        raise ModelError(f"the models topic holds no version {name!r}")
    record = json.loads(value)
    record.update(role=role, applies_from=format_ts(applies_from), reason=reason,
                  published_at=format_ts(time.time()))  # fmt: skip
    publish_record(settings, name.encode("utf-8"),
                   json.dumps(record, separators=(",", ":")).encode("utf-8"))  # fmt: skip
    return f"version {name} is now {role} from {format_ts(applies_from)}: {reason}"

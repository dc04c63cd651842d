"""Run ``frtwatch worker`` as a real subprocess against the real broker, and read topics back.

Each worker gets its own topics, app id (= consumer group) and data
directory through ``FRTWATCH_*`` variables, so tests never share state. A
worker counts as started when it prints its readiness line, which it does
only after Faust has assigned its partitions, rebuilt its tables and the
certificate reader has loaded the whole certifications topic.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.bench.processes import worker_env as bench_worker_env
from streams.contract.event import SearchEvent
from streams.policy.model import AGENCY_WIDE_DETECTORS
from streams.settings import TopicNames
from streams.worker.consumer_lag import LagWatch, worker_groups
from streams.worker.internal_records import unpack

READY_LINE = "frtwatch worker ready:"
ENDPOINT = "https://frt.county.example.gov/api/search"
FRTWATCH = Path(sys.executable).with_name("frtwatch")


@dataclass
class WorkerProcess:
    """One running ``frtwatch worker``."""

    proc: subprocess.Popen[bytes]
    app_id: str
    topics: TopicNames
    data_dir: Path
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ready_count(self) -> int:
        return self.output().count(READY_LINE)

    def wait_ready(self, timeout: float = 60.0, count: int = 1) -> None:
        """Wait for the ``count``-th readiness line (one per completed rebalance)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready_count() >= count:
                return
            if not self.alive():
                raise AssertionError(
                    f"worker exited with {self.proc.returncode} before it was ready:\n"
                    + self.output()[-4000:]
                )
            time.sleep(0.2)
        raise AssertionError(f"worker not ready after {timeout}s:\n" + self.output()[-4000:])

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, and wait for a clean exit; returns the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(
                    f"worker did not stop within {timeout}s of SIGTERM:\n" + self.output()[-4000:]
                ) from None
        return self.proc.returncode


def frtwatch(*args: str) -> str:
    """Run a ``frtwatch`` command to completion; its output, or an assertion with stderr."""
    done = subprocess.run(
        [str(FRTWATCH), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"frtwatch {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout + done.stderr


def worker_env(
    bootstrap: str,
    topics: TopicNames,
    app_id: str,
    data_dir: Path,
    policy: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The benchmark's worker environment (:func:`streams.bench.processes.worker_env`),
    with the 4 partitions every test topic has."""
    return bench_worker_env(
        bootstrap, topics, app_id, data_dir, policy, {"FRTWATCH_PARTITIONS": "4", **(extra or {})}
    )


def start_worker(
    *,
    bootstrap: str,
    topics: TopicNames,
    app_id: str,
    data_dir: Path,
    policy: Path,
    log_path: Path,
    extra_env: Mapping[str, str] | None = None,
    command: Iterable[str] | None = None,
) -> WorkerProcess:
    """Start ``frtwatch worker`` (or ``command``) in the background; call ``wait_ready`` next."""
    env = worker_env(bootstrap, topics, app_id, data_dir, policy, extra_env)
    log = log_path.open("ab")
    proc = subprocess.Popen(
        list(command) if command is not None else [str(FRTWATCH), "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    return WorkerProcess(proc, app_id, topics, data_dir, log_path)


def produce(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes | None]],
    partition: int | None = None,
    **config: Any,
) -> None:
    """Produce ``(key, value)`` pairs with kafka-python (to ``partition``, if given) and
    wait for every delivery."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **config)
    try:
        futures = [producer.send(topic, key=key, value=value, partition=partition)
                   for key, value in records]  # fmt: skip
        producer.flush(30)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(10)


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Any]], bool] | None = None,
    timeout: float = 60.0,
) -> list[Any]:
    """Every record of ``topic`` from the beginning, polling until ``until(records)``
    (by default: until every partition is read to the end offset it had when the
    read began).

    Raises with what was read if the condition does not hold in time.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=500,
    )
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] | None = None
        while not partitions:
            partitions = consumer.partitions_for_topic(topic)
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} does not exist")
            if not partitions:
                time.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        if until is None:
            ends = consumer.end_offsets(tps)

            def until(_: list[Any]) -> bool:
                return all(consumer.position(tp) >= end for tp, end in ends.items())

        while True:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
            if until(records):
                return records
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"condition on {topic} not met after {timeout}s ({len(records)} records read)"
                )
    finally:
        consumer.close()


def events_behind(bootstrap: str, app_id: str, lateness_s: float) -> dict[str, int]:
    """Per agency, the events of the worker's internal topic that reached it more than
    ``lateness_s`` (event time) behind an event of the agency sent on before them.

    The ingest stage merges the input partitions by event time, so an input
    written in event-time order reaches the detectors in that order, whatever
    partitions it was spread over; an event this far behind is late for the
    detectors (not counted in rates).
    """
    newest: dict[str, float] = {}
    behind: dict[str, int] = {}
    for record in read_topic(bootstrap, f"{app_id}-events-by-agency"):
        for fields, _ in unpack(record.value, record.headers or []):
            event = SearchEvent.from_fields(fields)
            agency = event.agency
            if event.ts < newest.get(agency, -math.inf) - lateness_s:
                behind[agency] = behind.get(agency, 0) + 1
            newest[agency] = max(newest.get(agency, -math.inf), event.ts)
    return behind


def latest_by_key(records: Iterable[Any]) -> dict[bytes, Any]:
    """The last record per key (what a compacted topic converges to)."""
    latest: dict[bytes, Any] = {}
    for record in records:
        latest[record.key] = record
    return latest


def latest_alerts(records: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Alerts by ``alert_id``, keeping the update with the most evidence."""
    alerts: dict[str, dict[str, Any]] = {}
    for record in records:
        alert = orjson.loads(record.value)
        known = alerts.get(alert["alert_id"])
        if known is None or alert["event_count"] >= known["event_count"]:
            alerts[alert["alert_id"]] = alert
    return alerts


def policy_without_behavior(
    source: Path, target: Path, certifications: Path | None = None, *, per_user: bool = False
) -> Path:
    """A copy of ``source`` with ``behavior_anomaly`` disabled (and absolute paths);
    ``per_user``: every detector's alerts per user (the shipped policy makes the endpoint
    detectors' alerts agency-wide)."""
    import yaml

    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if per_user:
        for name in AGENCY_WIDE_DETECTORS:
            data["detectors"].setdefault(name, {})["alert_per"] = "user"
    data["detectors"]["behavior_anomaly"]["enabled"] = False
    data["detectors"]["behavior_anomaly"].pop("model", None)
    csv = certifications or (source.parent / data["certifications"]["csv"]).resolve()
    data["certifications"]["csv"] = str(csv)
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def policy_with_model(source: Path, target: Path, model: Path, certifications: Path) -> Path:
    """A copy of ``source`` whose behaviour detector uses ``model``."""
    import yaml

    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["detectors"]["behavior_anomaly"]["enabled"] = True
    data["detectors"]["behavior_anomaly"]["model"] = str(model)
    data["certifications"]["csv"] = str(certifications)
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def search(user: str, agency: str, n: int, **overrides: Any) -> dict[str, Any]:
    """A valid search by ``user`` on an authorised county system, with a case number.

    ``n`` spaces events a minute apart from 2026-03-02T09:10Z (up to n = 49).
    """
    event: dict[str, Any] = {
        "event_id": f"{user}-{n}-{uuid.uuid4().hex[:8]}",
        "ts": f"2026-03-02T09:{10 + n:02d}:00Z",
        "agency": agency,
        "user": user,
        "endpoint": ENDPOINT,
        "case_number": f"{agency}-2026-{n:06d}",
        "purpose": "investigation",
        "result_count": 3,
        "source": "audit-log",
    }
    event.update(overrides)
    return event


def dumps(event: Mapping[str, Any]) -> bytes:
    return orjson.dumps(event)


def kcat_produce(bootstrap: str, topic: str, lines: list[bytes], *, key_delimiter: bool) -> None:
    """Produce one message per line with Debian's ``kcat -P`` (``-Z``: empty value = NULL).

    With ``key_delimiter`` each line is ``key<TAB>value``.
    """
    args = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-Z"]
    if key_delimiter:
        args += ["-K", "\t"]
    subprocess.run(args, input=b"\n".join(lines) + b"\n", check=True, timeout=60)


def committed_offsets(bootstrap: str, app_id: str) -> dict[tuple[str, int], int]:
    """A worker's committed offsets, by (topic, partition): the input topic's (its
    ingest group) and the internal topic's (its Faust app group)."""
    with LagWatch(bootstrap, worker_groups(app_id), []) as watch:
        offsets = watch.committed()
    return {(tp.topic, tp.partition): offset for tp, offset in offsets.items()}


def end_offsets(bootstrap: str, topic: str) -> dict[tuple[str, int], int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        consumer.close()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


def wait_drained(
    worker: WorkerProcess, bootstrap: str, expected_input: int, timeout: float = 60.0
) -> None:
    """Wait until the worker has committed every input and repartitioned record.

    The worker commits an offset only after everything that record caused (dead
    letter, repartitioned copy, alerts) is confirmed by the broker, so a fully
    committed pipeline means all of its output is on the topics.
    """
    internal = f"{worker.app_id}-events-by-agency"
    deadline = time.monotonic() + timeout
    while True:
        # Committed offsets first: an input offset is committed only after its
        # repartitioned copy is on the internal topic, so ends read afterwards
        # include every copy the committed input produced.
        committed = committed_offsets(bootstrap, worker.app_id)
        ends = {**end_offsets(bootstrap, worker.topics.events), **end_offsets(bootstrap, internal)}
        produced = sum(v for (t, _), v in ends.items() if t == worker.topics.events)
        if produced >= expected_input and all(
            committed.get(tp, 0) >= end for tp, end in ends.items()
        ):
            return
        if not worker.alive():
            raise AssertionError("worker exited:\n" + worker.output()[-4000:])
        if time.monotonic() > deadline:
            raise AssertionError(
                f"worker not drained after {timeout}s: produced {produced}/{expected_input}, "
                f"ends {ends}, committed {committed}; worker log:\n{worker.output()[-6000:]}"
            )
        time.sleep(0.5)


def listening_ports(pid: int) -> list[int]:
    """TCP ports process ``pid`` listens on (its socket inodes matched in /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports

"""What the fault-injection tests compare a battered worker against, and how they read it.

The reference for every fault test is a recomputation of the same events
through the worker's own detection code (:class:`~streams.judge.batch.Judge`
over plain dicts), in the order the worker judges them: per agency, in event
time. It gives the alerts (id and evidence count of the latest update) and
every user's and agency's state record, byte for byte. A worker that lost an
event, counted one twice or raised an alert twice ends up with different
bytes, so comparing the changelogs' latest records with the recomputed ones
is the "nothing double-counted" check.
"""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from streams.contract import parse_event
from streams.detectors.engine import Engine
from streams.judge.batch import BatchItem, ByteStates, Judge
from streams.judge.progress_marks import split
from streams.policy import CertificateRegistry, load_certificates_csv, load_policy
from streams.simulate.baseline import write_baseline
from streams.worker.internal_records import unpack
from streams.worker.tables import AGENCY_TABLE, USER_TABLE
from tests.conftest import ROOT
from tests.integration.worker_harness import (
    WorkerProcess,
    committed_offsets,
    frtwatch,
    latest_alerts,
    policy_with_model,
    read_topic,
)

BATCH = 500
QUICK_FAILOVER = {"BROKER_SESSION_TIMEOUT": "10"}
"""Faust reads its settings from the environment too: a SIGKILLed member's partitions are
handed on after 10 s without heartbeats instead of Faust's default 60 s."""


@dataclass
class World:
    """A simulated world on disk."""

    events_path: Path
    certifications: Path
    truth: dict[str, Any]
    lines: list[bytes] = field(default_factory=list)


def simulate(out: Path, *, users: int, days: int, seed: int) -> World:
    frtwatch("simulate", "--out", str(out), "--users", str(users), "--days", str(days),
             "--seed", str(seed), "--no-progress")  # fmt: skip
    events = out / "events.jsonl"
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    lines = [line for line in events.read_bytes().splitlines() if line.strip()]
    return World(events, out / "certifications.csv", truth, lines)


def by_agency(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """``(agency, line)`` records: each agency's events in one input partition, in order.

    A worker merges the partitions it reads by event time, but two workers
    (or one that takes over another's partitions) read theirs at their own
    pace, so with null keys the order in which an agency's events reach
    detection would depend on timing. Keyed by agency, it cannot, and the
    outcome can be compared with the recomputation exactly.
    """
    return [(orjson.loads(line)["agency"].encode(), line) for line in lines]


def train_model(world: World, out: Path) -> Path:
    """The behaviour model fitted on the world's baseline (:mod:`streams.simulate.baseline`)."""
    baseline = out / "baseline.jsonl"
    write_baseline(world.events_path, world.truth, baseline)
    model = out / "behavior.skops"
    frtwatch("model", "train", "--from-file", str(baseline), "--out", str(model))
    return model


@dataclass
class Scenario:
    """A world, its behaviour model, a policy using both, and the recomputed outcome."""

    world: World
    model: Path
    policy: Path
    expected: Outcome


def scenario(tmp_path: Path, *, seed: int, users: int = 120, days: int = 6) -> Scenario:
    """What every fault test starts from: a simulated world with every detector on."""
    world = simulate(tmp_path / "world", users=users, days=days, seed=seed)
    model = train_model(world, tmp_path / "model")
    policy = policy_with_model(ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml",
                               model, world.certifications)  # fmt: skip
    return Scenario(world, model, policy, recompute(world.lines, policy, model))


@dataclass
class Outcome:
    """Alerts (id -> evidence count of the latest update) and state records by key."""

    alerts: dict[str, int]
    users: dict[str, bytes]
    agencies: dict[str, bytes]
    detectors: set[str] = field(default_factory=set)
    details: dict[str, Any] = field(default_factory=dict)
    """Alert id -> the alert's latest update, for messages."""


def recompute(lines: list[bytes], policy: Path, model: Path | None = None) -> Outcome:
    """The outcome of judging ``lines`` once each, per agency in event-time order."""
    loaded = load_policy(policy)
    csv = loaded.certifications_csv
    engine = Engine(loaded, load_certificates_csv(csv) if csv else CertificateRegistry())
    behaviour = None
    if model is not None:
        from models.scoring import load_model

        behaviour = load_model(model)
    detector = Judge(engine, behaviour)
    by_agency: dict[str, list[Any]] = defaultdict(list)
    for line in lines:
        event = parse_event(line)
        by_agency[event.agency].append(event)
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    alerts: dict[str, int] = {}
    detectors: set[str] = set()
    details: dict[str, Any] = {}
    for events in by_agency.values():
        events.sort(key=lambda e: (e.ts, e.event_id))  # the watermark's order
        for start in range(0, len(events), BATCH):
            items = [BatchItem(e, None) for e in events[start : start + BATCH]]
            result = detector.run(items, ByteStates(users, agencies))
            assert not result.failures, result.failures
            for alert in result.alerts:
                if alert.event_count >= alerts.get(alert.alert_id, 0):
                    alerts[alert.alert_id] = alert.event_count
                    details[alert.alert_id] = alert.to_dict()
                detectors.add(alert.detector)
    return Outcome(alerts, users, agencies, detectors, details)


def table(bootstrap: str, app_id: str, name: str) -> dict[str, bytes]:
    """The latest state per key of a worker table's changelog (keys decoded from JSON,
    the worker's progress marks taken off: the recomputation has no offsets)."""
    records = read_topic(bootstrap, f"{app_id}-{name}-changelog")
    latest: dict[str, bytes] = {}
    for record in records:
        key = orjson.loads(record.key)
        if record.value is None:
            latest.pop(key, None)
        else:
            latest[key] = split(record.value)[1]
    return latest


def worker_outcome(bootstrap: str, app_id: str, alerts_topic: str) -> Outcome:
    messages = read_topic(bootstrap, alerts_topic)
    latest = latest_alerts(messages)
    return Outcome(
        {k: a["event_count"] for k, a in latest.items()},
        table(bootstrap, app_id, USER_TABLE),
        table(bootstrap, app_id, AGENCY_TABLE),
        {a["detector"] for a in latest.values()},
        latest,
    )


def _describe(outcome: Outcome, ids: list[str]) -> str:
    lines = []
    for alert_id in ids[:5]:
        a = outcome.details.get(alert_id, {})
        lines.append(f"  {alert_id} {a.get('detector')} {a.get('agency')}/{a.get('user')} "
                     f"{a.get('first_seen')}..{a.get('last_seen')} x{a.get('event_count')}")  # fmt: skip
    return "\n".join(lines)


def assert_same(got: Outcome, expected: Outcome) -> None:
    """Alert ids and evidence counts, then every state record, byte for byte."""
    differ_users = [k for k in expected.users if got.users.get(k) != expected.users[k]]
    if differ_users:  # said first: a different state is where a different alert comes from
        print(f"{len(differ_users)} user state(s) differ: {differ_users[:10]}")
    missing = sorted(set(expected.alerts) - set(got.alerts))
    extra = sorted(set(got.alerts) - set(expected.alerts))
    assert not missing and not extra, (
        f"{len(missing)} alert(s) missing:\n{_describe(expected, missing)}\n"
        f"{len(extra)} unexpected:\n{_describe(got, extra)}"
    )
    counts = {k: (got.alerts[k], n) for k, n in expected.alerts.items() if got.alerts[k] != n}
    assert not counts, (
        f"evidence counts differ (worker, recomputed): {dict(list(counts.items())[:5])}\n"
        f"worker:\n{_describe(got, list(counts))}\nrecomputed:\n{_describe(expected, list(counts))}"
    )
    assert set(got.users) == set(expected.users), (
        f"user table keys differ: only in the worker's {sorted(set(got.users) - set(expected.users))[:5]}, "
        f"only recomputed {sorted(set(expected.users) - set(got.users))[:5]}"
    )
    differ = [k for k in expected.users if got.users[k] != expected.users[k]]
    assert not differ, (
        f"{len(differ)} user state(s) differ from the recomputation, e.g. {differ[0]}:\n"
        f"worker     {got.users[differ[0]][:400]!r}\nrecomputed {expected.users[differ[0]][:400]!r}"
    )
    assert set(got.agencies) == set(expected.agencies), "agency table keys differ"
    differ = [k for k in expected.agencies if got.agencies[k] != expected.agencies[k]]
    assert not differ, f"agency state(s) differ from the recomputation: {differ}"


def judged(bootstrap: str, app_id: str) -> int:
    """Events the worker has finished judging: the distinct input messages in the records
    it has committed on its by-agency topic (a record carries several events, and a
    restarted ingest stage may have sent some again)."""
    internal = f"{app_id}-events-by-agency"
    committed = {
        p: v for (t, p), v in committed_offsets(bootstrap, app_id).items() if t == internal
    }
    if not any(committed.values()):
        return 0
    done = {
        source
        for record in read_topic(bootstrap, internal)
        if record.offset < committed.get(record.partition, 0)
        for _, source in unpack(record.value, list(record.headers or ()))
    }
    return len(done)


def wait_for_progress(bootstrap: str, app_id: str, beyond: int, worker: WorkerProcess,
                      timeout: float = 90.0) -> int:  # fmt: skip
    """Wait until more than ``beyond`` events are judged and committed; return how many."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = judged(bootstrap, app_id)
        if done > beyond:
            return done
        if not worker.alive():
            raise AssertionError("worker exited:\n" + worker.output()[-3000:])
        time.sleep(0.05)
    raise AssertionError(f"no progress beyond {beyond} judged events:\n" + worker.output()[-3000:])


def kill(worker: WorkerProcess) -> None:
    """SIGKILL: no shutdown, no final commit, no producer flush."""
    worker.proc.send_signal(signal.SIGKILL)
    worker.proc.wait(10)

"""Same events, same alerts: six ways of running one world give one set of alerts.

The world (150 users, 14 days, seed 7) holds every kind of incident the
simulator plants, among them a loud burst, a quiet burst, a burst on the
deployment's first day (``early_burst``) and three behaviour anomalies. The
behaviour model is trained on its normal history
(:func:`streams.simulate.baseline.write_baseline`), so all seven detectors run.

The reference is a recomputation of the same events through the judge over
plain dicts, per agency in event-time order
(:func:`tests.integration.fault_injection.recompute`). Each run must give
exactly its alerts: the same ids, and for every id the same latest record
(event count, first and last seen, evidence ids, details, score), field for
field. The live runs must also leave every user's and agency's state record
equal to the recomputed one, byte for byte. The six runs:

1. **null keys**: Debian's ``kcat`` produces the events without keys onto 4
   partitions (librdkafka's partitioner spreads them at random), so each
   user's searches are spread over every partition;
2. **keyed**: keys ``<agency>/<user>``, each user's searches in one partition;
3. **skewed**: partitions 1 to 3 get their whole share first, partition 0's
   backlog reaches the broker a second later;
4. **killed**: null keys, sent in slices while the worker is SIGKILLed three
   times; a fifth worker finishes;
5. **replay**: ``frtwatch replay`` of the range run 1 read;
6. **split**: one worker as two processes, ``frtwatch worker --stage ingest`` and
   ``--stage detect`` with the same app id.

The live workers run with ``FRTWATCH_WATERMARK_IDLE=6``: the skew of run 3 (the
time to send partitions 1 to 3 plus a second) must stay below the time the
watermark waits for a silent partition, which is the documented condition
under which arrival cannot matter (docs/ARCHITECTURE.md). Every live run also
checks that no two messages of one alert carry the same ``event_count`` and
``status`` with different content, and that none is open after its closed one (an
alert re-opened under its id).

``pytest -s`` prints the mode x alerts x differences table.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.settings import TopicNames
from streams.simulate.baseline import EARLY_KIND
from tests.conftest import ROOT
from tests.integration.conftest import WorkerFactory
from tests.integration.fault_injection import (
    QUICK_FAILOVER,
    Outcome,
    World,
    assert_same,
    kill,
    recompute,
    simulate,
    train_model,
    wait_for_progress,
    worker_outcome,
)
from tests.integration.worker_harness import (
    kcat_produce,
    policy_with_model,
    produce,
    read_topic,
    wait_drained,
)

FRTWATCH = Path(sys.executable).with_name("frtwatch")
LIVE_ENV = {"FRTWATCH_WATERMARK_IDLE": "6"}
SKEW_S = 1.0
"""How much later than the other partitions' share partition 0's backlog is sent."""
SLICE, SLICE_PAUSE_S = 40, 0.12
"""The killed run's input arrives 40 events at a time: about 50 s for the whole world."""


@dataclasses.dataclass
class Setup:
    world: World
    policy: Path
    expected: Outcome


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    root = tmp_path_factory.mktemp("same-alerts")
    world = simulate(root / "world", users=150, days=14, seed=7)
    kinds = Counter(i["kind"] for i in world.truth["incidents"])
    assert {"loud_burst", "quiet_burst", EARLY_KIND} <= set(kinds), kinds
    model = train_model(world, root / "model")
    policy = policy_with_model(ROOT / "config" / "policy.yaml", root / "policy.yaml", model,
                               world.certifications)  # fmt: skip
    expected = recompute(world.lines, policy, model)
    assert len(expected.detectors) == 7, f"not every detector fires: {expected.detectors}"
    return Setup(world, policy, expected)


def _topics(base: TopicNames, mode: str) -> TopicNames:
    return dataclasses.replace(
        base, events=f"{base.events}.{mode}", alerts=f"{base.alerts}.{mode}",
        dlq=f"{base.dlq}.{mode}",
    )  # fmt: skip


def _collisions(bootstrap: str, topic: str) -> list[str]:
    """Alert ids with two different messages for one ``event_count`` and status, or an
    open message after the closed one (an alert re-opened under its id)."""
    seen: dict[tuple[str, int, str], set[bytes]] = defaultdict(set)
    closed: set[str] = set()
    reopened: list[str] = []
    for record in read_topic(bootstrap, topic):
        alert = orjson.loads(record.value)
        status = alert.get("status", "open")
        if alert["alert_id"] in closed and status == "open":
            reopened.append(f"{alert['alert_id']} reopened x{alert['event_count']}")
        if status == "closed":
            closed.add(alert["alert_id"])
        seen[(alert["alert_id"], alert["event_count"], status)].add(
            orjson.dumps(alert, option=orjson.OPT_SORT_KEYS)
        )
    collided = [f"{i} x{n} {s}" for (i, n, s), bodies in seen.items() if len(bodies) > 1]
    return sorted(collided + reopened)


def _differences(got: dict[str, dict[str, Any]], expected: Outcome) -> tuple[int, int, int]:
    """(ids only in the run, ids only recomputed, ids whose latest record differs)."""
    want = expected.details
    differ = sum(1 for i in got.keys() & want.keys() if got[i] != want[i])
    return len(got.keys() - want.keys()), len(want.keys() - got.keys()), differ


def _replay(
    setup: Setup, topics: TopicNames, bootstrap: str, out: Path
) -> dict[str, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    truth = setup.world.truth
    done = subprocess.run(
        [str(FRTWATCH), "replay", "--topic", topics.events, "--from", truth["start"],
         "--to", truth["end"], "--bootstrap", bootstrap, "--policy", str(setup.policy),
         "--certifications-topic", topics.certifications, "--out", str(out), "--quiet",
         "--no-report"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = orjson.loads((out / "run.json").read_bytes())
    assert manifest["processed"]["events"] == truth["event_count"]
    assert manifest["processed"].get("failed", 0) == 0
    alerts: dict[str, dict[str, Any]] = {}
    for line in (out / "alerts.jsonl").read_bytes().splitlines():
        record = orjson.loads(line)
        alerts[record["alert_id"]] = record
    return alerts


def test_every_mode_gives_the_recomputed_alerts(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    create_topics: Callable[..., None],
    setup: Setup,
    tmp_path: Path,
) -> None:
    lines, expected = setup.world.lines, setup.expected
    total = len(lines)
    rows: list[tuple[str, int, tuple[int, int, int], list[str]]] = []
    outcomes: dict[str, Outcome] = {}

    def live(mode: str, send: Callable[[TopicNames], None]) -> TopicNames:
        topics = _topics(topic_names, mode)
        create_topics([topics.events], partitions=4)
        app_id = f"frtwatch-same-{mode}-{uuid.uuid4().hex[:6]}"
        worker = worker_factory(setup.policy, topics=topics, app_id=app_id, extra_env=LIVE_ENV)
        send(topics)
        wait_drained(worker, kafka_bootstrap, total, timeout=300)
        got = worker_outcome(kafka_bootstrap, app_id, topics.alerts)
        assert worker.stop() == 0
        outcomes[mode] = got
        rows.append((mode, len(got.details), _differences(got.details, expected),
                     _collisions(kafka_bootstrap, topics.alerts)))  # fmt: skip
        return topics

    # 1. null keys, by a client frtwatch did not write
    null_topics = live("null-keys", lambda t: kcat_produce(kafka_bootstrap, t.events, lines,
                                                           key_delimiter=False))  # fmt: skip

    # 2. keyed <agency>/<user>
    def keyed(topics: TopicNames) -> None:
        records = []
        for line in lines:
            event = orjson.loads(line)
            records.append((f"{event['agency']}/{event['user']}".encode(), line))
        produce(kafka_bootstrap, topics.events, records)

    live("keyed", keyed)

    # 3. skewed: partition 0's backlog after everything else
    def skewed(topics: TopicNames) -> None:
        shares: dict[int, list[tuple[None, bytes]]] = defaultdict(list)
        for n, line in enumerate(lines):
            shares[n % 4].append((None, line))
        for partition in (1, 2, 3):
            produce(kafka_bootstrap, topics.events, shares[partition], partition=partition)
        time.sleep(SKEW_S)
        produce(kafka_bootstrap, topics.events, shares[0], partition=0)

    live("skewed", skewed)

    # 6. one worker as two processes: the ingest stage and the detection stage apart
    topics = _topics(topic_names, "split")
    create_topics([topics.events], partitions=4)
    app_id = f"frtwatch-same-split-{uuid.uuid4().hex[:6]}"
    stages = [
        worker_factory(setup.policy, topics=topics, app_id=app_id, extra_env=LIVE_ENV,
                       command=[str(FRTWATCH), "worker", "--stage", stage],
                       log_name=f"split-{stage}")
        for stage in ("ingest", "detect")
    ]  # fmt: skip
    produce(kafka_bootstrap, topics.events, [(None, line) for line in lines])
    wait_drained(stages[1], kafka_bootstrap, total, timeout=300)
    got = worker_outcome(kafka_bootstrap, app_id, topics.alerts)
    assert [stage.stop() for stage in stages] == [0, 0]
    outcomes["split stages"] = got
    rows.append(("split", len(got.details), _differences(got.details, expected),
                 _collisions(kafka_bootstrap, topics.alerts)))  # fmt: skip

    # 4. killed three times while the input still arrives
    topics = _topics(topic_names, "killed")
    create_topics([topics.events], partitions=4)
    app_id = f"frtwatch-same-killed-{uuid.uuid4().hex[:6]}"
    env = {**LIVE_ENV, **QUICK_FAILOVER}
    sent = threading.Event()

    def send_slowly() -> None:
        for start in range(0, total, SLICE):
            produce(
                kafka_bootstrap,
                topics.events,
                [(None, line) for line in lines[start : start + SLICE]],
            )
            time.sleep(SLICE_PAUSE_S)
        sent.set()

    sender = threading.Thread(target=send_slowly, daemon=True)
    sender.start()
    progress = 0
    for _ in range(3):
        worker = worker_factory(setup.policy, topics=topics, app_id=app_id, extra_env=env)
        progress = wait_for_progress(kafka_bootstrap, app_id, progress, worker)
        kill(worker)
        assert not sent.is_set(), f"the input was all sent before the kill at {progress} judged"
    sender.join(120)
    assert sent.is_set()
    worker = worker_factory(setup.policy, topics=topics, app_id=app_id, extra_env=env)
    wait_drained(worker, kafka_bootstrap, total, timeout=300)
    got = worker_outcome(kafka_bootstrap, app_id, topics.alerts)
    assert worker.stop() == 0
    outcomes["killed x3"] = got
    rows.append(("killed x3", len(got.details), _differences(got.details, expected),
                 _collisions(kafka_bootstrap, topics.alerts)))  # fmt: skip

    # 5. replay of run 1's range
    replayed = _replay(setup, null_topics, kafka_bootstrap, tmp_path / "replay")
    rows.append(("replay", len(replayed), _differences(replayed, expected), []))

    by_detector = Counter(a["detector"] for a in expected.details.values())
    print(
        f"\n{total} events; recomputed {len(expected.details)} alerts {dict(sorted(by_detector.items()))}"
    )
    print(f"{'mode':<12} {'alerts':>6} {'only run':>8} {'only ref':>8} {'differ':>6} collisions")
    for mode, count, (extra, missing, differ), collisions in rows:
        print(f"{mode:<12} {count:>6} {extra:>8} {missing:>8} {differ:>6} {len(collisions)}")

    for mode, got in outcomes.items():
        assert_same(got, expected)
        assert got.details == expected.details, f"{mode}: alert records differ"
    assert replayed == expected.details
    assert all(not collisions for *_, collisions in rows), rows

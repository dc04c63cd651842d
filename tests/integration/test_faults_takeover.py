"""Two workers in one group, one SIGKILLed mid-stream: the other takes over its partitions and state.

Both workers share an app id (so its two consumer groups: the ingest stage's
on the input, the Faust app's on the internal topic), so each reads half of the
input and internal partitions and keeps the state of the agencies in them.
Input is keyed by agency (see :func:`~tests.integration.fault_injection.by_agency`).
When one is killed, the survivor is assigned its partitions after the
session timeout, rebuilds their state from the changelogs and finishes the
work. The outcome must be what one worker judging every event once would
give: alert ids and evidence counts, and every user's and agency's latest
changelog record, equal a recomputation (:mod:`tests.integration.fault_injection`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from streams.settings import TopicNames
from tests.integration.conftest import WorkerFactory
from tests.integration.fault_injection import (
    QUICK_FAILOVER,
    assert_same,
    by_agency,
    kill,
    scenario,
    wait_for_progress,
    worker_outcome,
)
from tests.integration.worker_harness import produce, wait_drained


def assigned(worker_log: str, which: int = -1) -> int:
    """Partitions in one of the worker's readiness lines (by default the latest)."""
    line = [x for x in worker_log.splitlines() if x.startswith("frtwatch worker ready:")][which]
    return int(line.split(":")[1].split()[0])


def test_survivor_takes_over_partitions_and_state(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    create_topics: Callable[..., None],
    tmp_path: Path,
) -> None:
    start = scenario(tmp_path, seed=9)
    world, policy, expected = start.world, start.policy, start.expected
    total = len(world.lines)
    half = total // 2
    records = by_agency(world.lines)
    create_topics([topic_names.events], partitions=4)

    app_id = f"frtwatch-faults-takeover-{uuid.uuid4().hex[:8]}"
    victim = worker_factory(policy, app_id=app_id, extra_env=QUICK_FAILOVER)
    survivor = worker_factory(policy, app_id=app_id, extra_env=QUICK_FAILOVER)
    # The victim rebalanced once more when the survivor joined: both hold part of the work.
    victim.wait_ready(count=2)
    shares = assigned(victim.output()), assigned(survivor.output())
    assert all(shares), f"partitions not shared: {shares}"

    # The first half is judged by both; the victim dies with part of it in flight,
    # and the second half of its agencies' events reaches the survivor only.
    produce(kafka_bootstrap, topic_names.events, records[:half])
    done = wait_for_progress(kafka_bootstrap, app_id, 0, victim)
    kill(victim)
    produce(kafka_bootstrap, topic_names.events, records[half:])
    print(f"\n{total} events; victim killed holding {shares[0]} partitions, {done} judged")

    survivor.wait_ready(count=2, timeout=90)  # after the session timeout: all partitions
    alone = assigned(victim.output(), 0)  # before the survivor joined it held everything
    assert assigned(survivor.output()) == alone
    wait_drained(survivor, kafka_bootstrap, total, timeout=120)
    got = worker_outcome(kafka_bootstrap, app_id, topic_names.alerts)
    print(f"alerts {len(got.alerts)} (recomputed {len(expected.alerts)}), users {len(got.users)}")
    assert_same(got, expected)
    assert survivor.stop() == 0
    assert len(expected.detectors) == 7, f"not every detector fired: {expected.detectors}"

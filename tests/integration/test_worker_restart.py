"""A worker killed mid-stream and restarted gives exactly the alerts of an uninterrupted run.

The first worker is killed with SIGKILL (no clean shutdown, no final commit)
while it is still working through a simulated world; a second one with the
same app id rebuilds its tables from the changelogs and resumes from the last
committed offsets, so some events are processed twice. Event-id dedupe and
deterministic alert ids must make that invisible: the alerts (ids and
evidence counts) equal those of ``frtwatch replay`` over the same file, the
other driver of the same detection core.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from streams.settings import TopicNames
from tests.conftest import ROOT
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    committed_offsets,
    end_offsets,
    frtwatch,
    latest_alerts,
    policy_without_behavior,
    read_topic,
    wait_drained,
)


def replayed_alerts(path: Path) -> dict[str, dict[str, Any]]:
    alerts: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        alert = json.loads(line)
        known = alerts.get(alert["alert_id"])
        if known is None or alert["event_count"] >= known["event_count"]:
            alerts[alert["alert_id"]] = alert
    return alerts


@pytest.mark.xfail(
    reason=(
        "known bug: after a SIGKILL the restarted worker can stop committing one internal "
        "partition (records fetched while recovery seeks are skipped and never acked, as in "
        "faust-streaming issue 596), so it never drains; the fix is in progress"
    ),
    strict=False,
)
def test_killed_worker_resumes_without_losing_or_doubling_anything(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    tmp_path: Path,
) -> None:
    world = tmp_path / "world"
    # Large enough that the first commit never covers the whole input, even on a fast
    # machine (Faust commits every few seconds).
    frtwatch("simulate", "--out", str(world), "--users", "400", "--days", "7", "--seed", "3",
             "--no-progress")  # fmt: skip
    events = world / "events.jsonl"
    total = len(events.read_bytes().splitlines())
    policy = policy_without_behavior(ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml",
                                     world / "certifications.csv")  # fmt: skip
    frtwatch("replay", "--from-file", str(events), "--policy", str(policy),
             "--out", str(tmp_path / "replay"), "--no-report", "--quiet")  # fmt: skip
    expected = replayed_alerts(tmp_path / "replay" / "alerts.jsonl")
    assert len(expected) > 10

    app_id = f"frtwatch-restart-{uuid.uuid4().hex[:8]}"
    first = worker_factory(policy, app_id=app_id)
    frtwatch("produce", str(events), "--topic", topic_names.events, "--bootstrap",
             kafka_bootstrap, "--key", "null", "--no-progress")  # fmt: skip

    # Kill it once it has committed part of the input, but not all of it.
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline:
        offsets = committed_offsets(kafka_bootstrap, app_id)
        done = sum(v for (t, _), v in offsets.items() if t == topic_names.events)
        if done > 0:
            break
        time.sleep(0.05)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    ends = end_offsets(kafka_bootstrap, topic_names.events)
    print(f"\nkilled after {done} of {sum(ends.values())} input events were committed")
    assert 0 < done < total, "the worker was not killed mid-stream"

    second = worker_factory(policy, app_id=app_id)
    wait_drained(second, kafka_bootstrap, total, timeout=180)
    got = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts, until=bool))
    print(f"alerts: {len(got)} after the restart, {len(expected)} from replay")
    assert set(got) == set(expected)
    assert {k: a["event_count"] for k, a in got.items()} == {
        k: a["event_count"] for k, a in expected.items()
    }
    assert second.stop() == 0

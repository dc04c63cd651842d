"""The broker restarts mid-run: the worker rides it out by itself, and the outcome is unchanged.

The broker on 9092 is shared, so this test starts a broker of its own on
free ports (the same jars, a data directory of its own), runs a worker
against it, and in the middle of the stream stops the broker (SIGTERM) and
starts it again on the same data. Nobody touches the worker: it must
reconnect, finish the first part, and judge the part produced after the
restart. The outcome (alert ids and evidence counts, every user's and
agency's latest state record) must equal a recomputation of the events, each
judged once (:mod:`tests.integration.fault_injection`). Input is keyed by
agency (see :func:`~tests.integration.fault_injection.by_agency`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams import localbroker
from streams.settings import TopicNames
from tests.integration.fault_injection import (
    QUICK_FAILOVER,
    assert_same,
    by_agency,
    judged,
    scenario,
    worker_outcome,
)
from tests.integration.worker_harness import (
    FRTWATCH,
    WorkerProcess,
    end_offsets,
    produce,
    start_worker,
    wait_drained,
)


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def free_port_pair() -> int:
    """A port P with P and P+1 free (the broker's client and controller listeners)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < 65000 and _free(port) and _free(port + 1):
            return port
    raise AssertionError("no two adjacent free ports")


def broker_command(cfg: localbroker.BrokerConfig, action: str) -> None:
    """``frtwatch kafka up|down|reset`` for ``cfg`` (:mod:`streams.localbroker` in a process of
    its own, which owns the broker process and its log file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    env.update(FRTWATCH_KAFKA_PORT=str(cfg.port), FRTWATCH_CACHE=str(cfg.cache),
               FRTWATCH_KAFKA_HEAP=cfg.heap)  # fmt: skip
    done = subprocess.run([str(FRTWATCH), "kafka", action], env=env, capture_output=True,
                          text=True, timeout=180, check=False)  # fmt: skip
    assert done.returncode == 0, f"frtwatch kafka {action}: {done.stdout}{done.stderr}"


@pytest.fixture
def own_broker() -> Iterator[localbroker.BrokerConfig]:
    """A broker for this test only (the shared jar cache, its own data), deleted afterwards."""
    for attempt in range(3):  # a free port can be taken before the broker binds it
        cfg = localbroker.BrokerConfig(port=free_port_pair(), heap="512m")
        try:
            broker_command(cfg, "up")
            break
        except AssertionError as exc:
            log = cfg.log_file
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            broker_command(cfg, "reset")
            if attempt == 2:
                raise AssertionError(f"no broker of the test's own would start:\n{tail}") from exc
    try:
        yield cfg
    finally:
        broker_command(cfg, "reset")


def create_topics(bootstrap: str, topics: TopicNames) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([
            NewTopic(topics.events, 4, 1),
            NewTopic(topics.certifications, 4, 1, topic_configs={"cleanup.policy": "compact"}),
        ])  # fmt: skip
    finally:
        admin.close()


def test_worker_recovers_from_a_broker_restart_by_itself(
    own_broker: localbroker.BrokerConfig,
    topic_names: TopicNames,
    tmp_path: Path,
) -> None:
    bootstrap = own_broker.bootstrap
    start = scenario(tmp_path, seed=13)
    world, policy, expected = start.world, start.policy, start.expected
    total = len(world.lines)
    half = total // 2
    records = by_agency(world.lines)
    create_topics(bootstrap, topic_names)
    produce(bootstrap, topic_names.events, records[:half])

    app_id = f"frtwatch-faults-broker-{uuid.uuid4().hex[:8]}"
    worker: WorkerProcess = start_worker(
        bootstrap=bootstrap, topics=topic_names, app_id=app_id, data_dir=tmp_path / "data",
        policy=policy, log_path=tmp_path / "worker.log", extra_env=QUICK_FAILOVER,
    )  # fmt: skip
    try:
        worker.wait_ready()
        # Stop the broker as soon as the worker is at work: copies on its
        # by-agency topic, the first part not yet committed.
        internal = f"{app_id}-events-by-agency"
        deadline = time.monotonic() + 60
        while sum(end_offsets(bootstrap, internal).values()) == 0:
            assert time.monotonic() < deadline, "the worker did not start working"
            time.sleep(0.02)
        done = judged(bootstrap, app_id)
        broker_command(own_broker, "down")
        time.sleep(3)  # the worker meets a broker that is gone, not one that blinks
        assert worker.alive(), "the worker died with the broker:\n" + worker.output()[-3000:]
        broker_command(own_broker, "up")
        print(f"\n{total} events; broker stopped with {done} judged and committed, restarted")
        assert done < half, "the first part was done before the broker went down"
        produce(bootstrap, topic_names.events, records[half:])
        wait_drained(worker, bootstrap, total, timeout=150)
        got = worker_outcome(bootstrap, app_id, topic_names.alerts)
        print(
            f"alerts {len(got.alerts)} (recomputed {len(expected.alerts)}), users {len(got.users)}"
        )
        assert_same(got, expected)
        assert worker.stop() == 0
    finally:
        with contextlib.suppress(Exception):
            worker.proc.kill()
            worker.proc.wait(10)

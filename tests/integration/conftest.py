"""Fixtures for tests that run ``frtwatch worker`` as a subprocess on the real broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from streams.localbroker import BrokerConfig
from streams.settings import TopicNames
from tests.conftest import ROOT
from tests.integration.worker_harness import WorkerProcess, policy_without_behavior, start_worker

WorkerFactory = Callable[..., WorkerProcess]


@pytest.fixture
def rules_policy(tmp_path: Path) -> Path:
    """The shipped policy with the behaviour detector off (no model needed)."""
    return policy_without_behavior(ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml")


@pytest.fixture
def per_user_policy(tmp_path: Path) -> Path:
    """``rules_policy`` with every detector's alerts per user, for tests about one user's
    alerts (agency-wide ones: tests/unit/detectors/test_agency_wide.py and the
    end-to-end world)."""
    return policy_without_behavior(ROOT / "config" / "policy.yaml",
                                   tmp_path / "policy-per-user.yaml", per_user=True)  # fmt: skip


@pytest.fixture
def worker_factory(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    unique_name: str,
    tmp_path: Path,
    create_topics: Callable[..., None],
) -> Iterator[WorkerFactory]:
    """Start workers on this test's own topics; every one is stopped at teardown.

    ``worker_factory(policy, topics=None, app_id=None, extra_env=None, command=None,
    wait=True)``:
    the input and certifications topics (default: this test's ``topic_names``)
    are created first (4 partitions; the certifications topic compacted), like
    a deployment where shippers exist before the worker. Each worker has its
    own app id (consumer group) and data directory.
    """
    started: list[WorkerProcess] = []

    def start(
        policy: Path,
        *,
        topics: TopicNames | None = None,
        app_id: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
        log_name: str | None = None,
        wait: bool = True,
    ) -> WorkerProcess:
        topics = topics or topic_names
        create_topics([topics.events], partitions=4)
        create_topics([topics.certifications], partitions=4, compact=True)
        name = app_id or f"frtwatch-test-{unique_name}-{len(started)}"
        worker = start_worker(
            bootstrap=kafka_bootstrap,
            topics=topics,
            app_id=name,
            data_dir=tmp_path / f"data-{name}",
            policy=policy,
            log_path=tmp_path / f"worker-{log_name or name}-{len(started)}.log",
            extra_env=extra_env,
            command=command,
        )
        started.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in started:
        if worker.alive():
            worker.stop()


@pytest.fixture(scope="session")
def secure_broker() -> Iterator[BrokerConfig]:
    """A secured broker of its own (SASL_SSL, SCRAM users, ACLs), started fresh for the
    session by ``frtwatch kafka reset`` and ``frtwatch kafka up --secure`` on
    ``FRTWATCH_SECURE_KAFKA_PORT`` (default 9094; its controller uses the port after it),
    and stopped at the end."""
    import os
    import subprocess

    from tests.integration.worker_harness import FRTWATCH

    port = os.environ.get("FRTWATCH_SECURE_KAFKA_PORT", "9094")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    for name in ("FRTWATCH_CACHE", "FRTWATCH_KAFKA_VERSION"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(FRTWATCH_KAFKA_PORT=port, FRTWATCH_KAFKA_HEAP="512m")

    def kafka(action: str) -> None:
        done = subprocess.run([str(FRTWATCH), "kafka", action, "--secure"], env=env,
                              capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
        assert done.returncode == 0, f"frtwatch kafka {action} --secure: {done.stderr}"

    kafka("reset")  # new data, users and certificates every session
    kafka("up")
    try:
        yield BrokerConfig.from_env(secure=True, env=env)
    finally:
        kafka("down")

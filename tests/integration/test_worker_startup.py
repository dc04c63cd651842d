"""Starting the worker: refusals with clear reasons, no network listener, both entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from streams.settings import TopicNames
from tests.conftest import ROOT
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import FRTWATCH, listening_ports, worker_env


def run_worker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRTWATCH), "worker", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_refuses_to_start_without_a_usable_model(
    kafka_bootstrap: str, topic_names: TopicNames, tmp_path: Path
) -> None:
    policy = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text(encoding="utf-8"))
    policy["detectors"]["behavior_anomaly"]["model"] = str(tmp_path / "missing.skops")
    policy["certifications"]["csv"] = str(ROOT / "config" / "certifications.csv")
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    env = worker_env(kafka_bootstrap, topic_names, "never-started", tmp_path / "data", path)

    done = run_worker(env)
    assert done.returncode == 1
    assert done.stderr.count("\n") <= 2, done.stderr  # one clear message, no traceback
    assert "behavior_anomaly is enabled" in done.stderr
    assert "frtwatch model train" in done.stderr
    assert "missing.skops" in done.stderr

    (tmp_path / "missing.skops").write_bytes(b"not a model")
    done = run_worker(env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "behavior_anomaly" in done.stderr


def test_refuses_an_invalid_policy_listing_every_error(
    kafka_bootstrap: str, topic_names: TopicNames, tmp_path: Path
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nagencies:\n  MPD: {name: M}\n  MPD: {name: again}\n")
    env = worker_env(kafka_bootstrap, topic_names, "never-started", tmp_path / "data", path)
    done = run_worker(env, "--policy", str(path))
    assert done.returncode == 1
    assert f"{path}:4" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_faust_entry_point_runs_the_same_app_and_listens_on_no_port(
    worker_factory: WorkerFactory, rules_policy: Path
) -> None:
    faust = str(Path(sys.executable).with_name("faust"))
    worker = worker_factory(
        rules_policy, command=[faust, "-A", "streams.app", "worker", "-l", "warn"]
    )
    assert listening_ports(worker.proc.pid) == []
    assert worker.stop() == 0

    own = worker_factory(rules_policy, app_id=f"{worker.app_id}-cli")
    assert "frtwatch worker" in own.output()
    assert "behavior_anomaly" not in own.output().split("detectors", 1)[1].splitlines()[0]
    assert listening_ports(own.proc.pid) == []
    assert own.stop() == 0

"""Starting the worker: warm-up without a model, refusals with clear reasons, no network
listener, both entry points."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.settings import TopicNames
from tests.browser.console_harness import free_port
from tests.conftest import ROOT
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    FRTWATCH,
    frtwatch,
    latest_alerts,
    listening_ports,
    policy_with_model,
    produce,
    read_topic,
    wait_drained,
    worker_env,
)


def run_worker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRTWATCH), "worker", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _policy_with_model_at(model: Path, target: Path) -> Path:
    policy = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text(encoding="utf-8"))
    policy["detectors"]["behavior_anomaly"]["model"] = str(model)
    policy["certifications"]["csv"] = str(ROOT / "config" / "certifications.csv")
    target.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return target


def test_refuses_to_start_with_a_model_file_that_fails_its_checks(
    kafka_bootstrap: str, topic_names: TopicNames, tmp_path: Path
) -> None:
    path = _policy_with_model_at(tmp_path / "bad.skops", tmp_path / "policy.yaml")
    (tmp_path / "bad.skops").write_bytes(b"not a model")
    env = worker_env(kafka_bootstrap, topic_names, "never-started", tmp_path / "data", path)
    done = run_worker(env)
    assert done.returncode == 1
    assert done.stderr.count("\n") <= 2, done.stderr  # one clear message, no traceback
    assert "Traceback" not in done.stderr
    assert "behavior_anomaly is enabled" in done.stderr
    assert "bad.skops" in done.stderr or "bad.card.json" in done.stderr, done.stderr


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _model_state(port: int) -> dict[str, float]:
    _, text = _get(f"http://127.0.0.1:{port}/metrics")
    return {
        sample.labels["state"]: sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
        if sample.name == "frtwatch_model_state"
    }


@pytest.mark.timeout(300)
def test_starts_without_a_model_warming_up_and_raises_rule_alerts(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    tmp_path: Path,
) -> None:
    """A fresh deployment: the policy names a model nobody has trained yet."""
    world = tmp_path / "world"
    frtwatch("simulate", "--out", str(world), "--users", "60", "--days", "10", "--seed", "3",
             "--no-progress")  # fmt: skip
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    missing = tmp_path / "models" / "behavior.skops"
    policy = policy_with_model(ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml",
                               missing, world / "certifications.csv")  # fmt: skip
    port = free_port()
    worker = worker_factory(policy, extra_env={"FRTWATCH_METRICS_PORT": str(port)})
    assert "warming up, no behaviour alerts" in worker.output()
    assert str(missing) in worker.output()
    assert _model_state(port) == {"scoring": 0.0, "warmup": 1.0, "disabled": 0.0}
    code, body = _get(f"http://127.0.0.1:{port}/status")
    assert code == 200
    status = json.loads(body)
    assert status["ready"] is True and status["behavior"]["state"] == "warmup"

    lines = (world / "events.jsonl").read_bytes().splitlines()
    produce(kafka_bootstrap, topic_names.events,
            [(json.loads(line)["agency"].encode(), line) for line in lines])  # fmt: skip
    wait_drained(worker, kafka_bootstrap, truth["event_count"], timeout=180)
    live = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    detectors = {alert["detector"] for alert in live.values()}
    assert "prohibited_endpoint" in detectors, detectors  # rules judge from the first event
    assert "behavior_anomaly" not in detectors
    assert any(i["detector"] == "behavior_anomaly" for i in truth["incidents"])
    assert _model_state(port)["warmup"] == 1.0
    assert worker.stop() == 0

    # The replay of the same range, with no model either, gives the same alerts.
    out = tmp_path / "replay"
    frtwatch(
        "replay", "--topic", topic_names.events, "--from", truth["start"], "--to", truth["end"],
        "--bootstrap", kafka_bootstrap, "--policy", str(policy),
        "--certifications-topic", topic_names.certifications,
        "--out", str(out), "--quiet", "--no-report",
    )  # fmt: skip
    replayed = {
        record["alert_id"]: record
        for record in map(json.loads, (out / "alerts.jsonl").read_bytes().splitlines())
    }
    assert set(replayed) == set(live)
    assert {i: a["event_count"] for i, a in replayed.items()} == {
        i: a["event_count"] for i, a in live.items()
    }


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

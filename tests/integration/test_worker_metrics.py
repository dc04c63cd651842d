"""A running worker serves /metrics, /livez and /readyz, and its counters move.

The worker is ``frtwatch worker`` with ``FRTWATCH_METRICS_PORT`` set, on the real broker,
with a behaviour model trained on a small simulated world; the test scrapes it over
HTTP before and after producing events (valid ones, a prohibited search and a message
that is no JSON).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.settings import TopicNames
from streams.simulate.baseline import write_baseline
from tests.browser.console_harness import free_port
from tests.conftest import ROOT
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import dumps, frtwatch, policy_with_model, produce, search

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_running_worker_serves_metrics_that_move_and_health(
    kafka_bootstrap: str, topic_names: TopicNames, worker_factory: WorkerFactory, tmp_path: Path
) -> None:
    world = tmp_path / "world"
    frtwatch("simulate", "--out", str(world), "--users", "60", "--days", "10", "--seed", "3",
             "--no-progress")  # fmt: skip
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    baseline = tmp_path / "baseline.jsonl"
    assert write_baseline(world / "events.jsonl", truth, baseline) > 500
    model = tmp_path / "model" / "behavior.skops"
    frtwatch("model", "train", "--from-file", str(baseline), "--out", str(model))
    policy = policy_with_model(ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml",
                               model, world / "certifications.csv")  # fmt: skip

    port = free_port()
    worker = worker_factory(policy, extra_env={"FRTWATCH_METRICS_PORT": str(port)})
    assert f"http://127.0.0.1:{port}/metrics" in worker.output()
    assert status(port, "/livez") == 200
    assert status(port, "/readyz") == 200
    assert status(port, "/nothing") == 404
    before = scrape(port)
    assert total(before, "frtwatch_events_in_total") == 0
    assert total(before, "frtwatch_model_state", state="scoring") == 1
    assert total(before, "frtwatch_model_state", state="warmup") == 0

    # The world's normal history (users with a past: the model scores them), a prohibited
    # search, and a message that is no JSON.
    events = baseline.read_bytes().splitlines()
    # Dated after the history, so they are in time order wherever they land: searches far
    # behind their partition's clock would each be late evidence for a closed alert.
    last = max(json.loads(line)["ts"] for line in events)
    after_history = datetime.fromisoformat(last.replace("Z", "+00:00")) + timedelta(hours=1)
    events += [
        dumps({**search("u-metrics", "MPD", n, endpoint="https://app.clearview.ai/x"),
               "ts": (after_history + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")})
        for n in range(1, 4)
    ]  # fmt: skip
    records = [(None, e) for e in events] + [(None, b"{not json")]
    produce(kafka_bootstrap, topic_names.events, records)

    def moved() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        after = scrape(port)
        done = (
            total(after, "frtwatch_events_in_total") >= len(events) + 1
            and total(after, "frtwatch_alerts_total", detector="prohibited_endpoint") >= 1
            and total(after, "frtwatch_model_scoring_seconds_count") >= 1
            and total(after, "frtwatch_state_entries", table="users") >= 1
        )
        return after if done else None

    deadline = time.monotonic() + 120
    after = moved()
    while after is None:
        assert time.monotonic() < deadline, f"metrics did not move:\n{scrape(port)}"
        time.sleep(1)
        after = moved()

    assert total(after, "frtwatch_events_in_total") == len(events) + 1
    assert total(after, "frtwatch_events_rejected_total", reason="bad_json") == 1
    assert total(after, "frtwatch_alerts_total", detector="prohibited_endpoint", kind="new") == 1
    assert total(after, "frtwatch_alerts_total", severity="critical") >= 1
    assert total(after, "frtwatch_model_batch_size_sum") >= 1
    assert total(after, "frtwatch_state_entries", table="agencies") >= 1
    lag = {ls: v for (n, ls), v in after.items() if n == "frtwatch_consumer_lag"}
    assert lag and all(dict(ls)["topic"] == topic_names.events for ls in lag)
    assert all(v == 0 for v in lag.values())  # everything produced has been read
    assert total(after, "frtwatch_watermark_seconds") > 1.7e9  # 2026, event time
    assert total(after, "frtwatch_gc_pause_seconds_count") > 0
    assert status(port, "/readyz") == 200

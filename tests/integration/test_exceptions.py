"""Exceptions on the real broker: published with ``frtwatch exceptions``, followed by a
live worker, read by ``frtwatch replay``; both give the same alerts, and an exception's
scope raises only silenced alerts (naming it) while it is in force (event time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from streams.settings import TopicNames
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    dumps,
    latest_alerts,
    produce,
    read_topic,
    search,
    wait_drained,
)

FRTWATCH = Path(sys.executable).with_name("frtwatch")
CLEARVIEW = "https://app.clearview.ai/search"


def exceptions_cli(bootstrap: str, topic: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    env.update(FRTWATCH_BOOTSTRAP=bootstrap, FRTWATCH_TOPIC_EXCEPTIONS=topic)
    return subprocess.run([str(FRTWATCH), "exceptions", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def add(bootstrap: str, topic: str, *args: str) -> str:
    done = exceptions_cli(bootstrap, topic, "add", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def scope(alert: dict[str, Any]) -> tuple[str, str, str, str]:
    return (alert["agency"], alert["user"], alert["detector"], alert["details"].get("host", ""))


def test_worker_and_replay_apply_the_same_exceptions(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    per_user_policy: Path,
    create_topics: Any,
    tmp_path: Path,
) -> None:
    topic = topic_names.exceptions
    create_topics([topic], partitions=1, compact=True)
    # In force 09:00 to 09:30 on 2026-03-02 (event time) for one user, detector and host.
    silenced = add(kafka_bootstrap, topic, "--user", "MPD/mpd-0001",
                   "--detector", "prohibited_endpoint", "--subject", "app.clearview.ai",
                   "--from", "2026-03-02T09:00:00Z", "--until", "2026-03-02T09:30:00Z",
                   "--reason", "vendor evaluation", "--author", "lead")  # fmt: skip
    withdrawn = add(kafka_bootstrap, topic, "--agency", "MPD", "--detector",
                    "prohibited_endpoint", "--from", "2026-03-01", "--until", "2026-03-31",
                    "--reason", "stated by mistake")  # fmt: skip
    done = exceptions_cli(kafka_bootstrap, topic, "withdraw", withdrawn)
    assert done.returncode == 0, done.stderr
    listed = exceptions_cli(kafka_bootstrap, topic, "list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [silenced]

    worker = worker_factory(per_user_policy)
    first = [
        search("mpd-0001", "MPD", 1, endpoint=CLEARVIEW),  # covered
        search("mpd-0001", "MPD", 2, endpoint=CLEARVIEW),  # covered
        search("mpd-0001", "MPD", 3, endpoint=CLEARVIEW, case_number=None),  # covered; no case
        search("mpd-0001", "MPD", 4, endpoint="https://search4faces.com/"),  # another host
        search("mpd-0002", "MPD", 5, endpoint=CLEARVIEW),  # another user
        search("mpd-0001", "MPD", 25, endpoint=CLEARVIEW),  # 09:35: expired
    ]
    first[2].pop("case_number")
    produce(kafka_bootstrap, topic_names.events, [(b"MPD", dumps(e)) for e in first])
    wait_drained(worker, kafka_bootstrap, len(first))

    # Live: an exception added while the worker runs covers the events after it.
    later = add(kafka_bootstrap, topic, "--user", "MPD/mpd-0003", "--detector",
                "prohibited_endpoint", "--from", "2026-03-02", "--until", "2026-03-02",
                "--reason", "training account")  # fmt: skip
    second = [search("mpd-0003", "MPD", 30, endpoint=CLEARVIEW)]
    produce(kafka_bootstrap, topic_names.events, [(b"MPD", dumps(e)) for e in second])
    wait_drained(worker, kafka_bootstrap, len(first) + len(second))
    live = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    assert worker.stop() == 0
    assert "1 exception(s) known" in worker.output()  # at start-up: the topic's one

    heard = {i: a for i, a in live.items() if "exception_id" not in a}
    # The covered findings are silenced alerts that name their exception.
    quiet = [a for a in live.values() if "exception_id" in a]
    assert sorted((a["user"], a["exception_id"]) for a in quiet) == [
        ("mpd-0001", silenced),
        ("mpd-0003", later),
    ]
    covered = {e["event_id"] for e in (*first[:3], *second)}
    assert {i for a in quiet for i in a["event_ids"]} <= covered
    prohibited = {scope(a) for a in heard.values() if a["detector"] == "prohibited_endpoint"}
    assert prohibited == {
        ("MPD", "mpd-0001", "prohibited_endpoint", "search4faces.com"),
        ("MPD", "mpd-0002", "prohibited_endpoint", "app.clearview.ai"),
        ("MPD", "mpd-0001", "prohibited_endpoint", "app.clearview.ai"),
    }
    (own,) = [a for a in heard.values()
              if scope(a) == ("MPD", "mpd-0001", "prohibited_endpoint", "app.clearview.ai")]  # fmt: skip
    assert own["event_ids"] == [first[5]["event_id"]]  # only the search after the expiry
    missing = [a for a in heard.values() if a["detector"] == "missing_case_number"]
    assert [a["event_ids"] for a in missing] == [[first[2]["event_id"]]]  # other detector
    assert not [a for a in heard.values()
                if a["user"] == "mpd-0003" and a["detector"] == "prohibited_endpoint"]  # fmt: skip

    def replay(out: Path, *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
        env["FRTWATCH_TOPIC_EXCEPTIONS"] = topic
        done = subprocess.run(
            [str(FRTWATCH), "replay", "--topic", topic_names.events,
             "--bootstrap", kafka_bootstrap, "--policy", str(per_user_policy),
             "--certifications-topic", topic_names.certifications,
             "--out", str(out), "--quiet", "--no-report", *extra],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        alerts = {
            r["alert_id"]: r
            for r in map(orjson.loads, (out / "alerts.jsonl").read_bytes().splitlines())
        }
        return alerts, orjson.loads((out / "run.json").read_bytes())

    replayed, manifest = replay(tmp_path / "replay")
    assert set(replayed) == set(live)
    assert {i: a["event_ids"] for i, a in replayed.items()} == {
        i: a["event_ids"] for i, a in live.items()
    }
    assert manifest["exceptions"]["count"] == 2
    assert manifest["exceptions"]["topic"]["found"] is True
    assert manifest["processed"]["excepted"] == 4  # three of mpd-0001's, one of mpd-0003's

    # The same range without the topic's exceptions alerts on their scopes: the replay
    # really judged with them.
    loud, loud_manifest = replay(tmp_path / "loud", "--no-exceptions-topic")
    assert loud_manifest["processed"]["excepted"] == 0
    assert {a["user"] for a in loud.values() if a["detector"] == "prohibited_endpoint"} >= {
        "mpd-0003"
    }
    assert not [a for a in loud.values() if "exception_id" in a]
    assert len(loud) > len([a for a in replayed.values() if "exception_id" not in a])
    assert later != silenced

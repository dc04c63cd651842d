"""A Squid log and a Zeek ssl.log, through ``frtwatch ingest`` and the worker, to alerts.

Two officers reach commercial face-search sites (mpd-0001 PimEyes through the proxy,
twice half an hour apart; cso-0001 FaceCheck.ID, seen by Zeek); the others only use the
approved county system. The lease table names the officers (10.10.0.11 was mpd-0002's
until 08:00, mpd-0001's after: the lease is applied by event time). The policy
prohibits the catalogue's whole ``commercial-open-web`` kind and lists no prohibited
domain itself, so the alerts come from the catalogue. Expected: one
``prohibited_endpoint`` alert per officer, naming the vendor, and nothing else; the
malformed lines are dead letters with their raw bytes. Ingesting both files again gives
the same events (same ids), and the worker's dedupe counts them once.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
import yaml

from streams.settings import TopicNames
from tests.conftest import FILES
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    frtwatch,
    latest_alerts,
    produce,
    read_topic,
    wait_drained,
)

pytestmark = pytest.mark.integration

SCENARIO = FILES / "sources" / "scenario"
EVENTS_PER_PASS = 8  # 5 uses in the Squid log, 3 in the ssl.log


def network_policy(rules_policy: Path, target: Path) -> Path:
    data = yaml.safe_load(rules_policy.read_text(encoding="utf-8"))
    data["endpoints"]["prohibited"] = []
    data["catalogue"] = {"prohibit_kinds": ["commercial-open-web"]}
    exempt = data["detectors"]["missing_case_number"]["exempt_purposes"]
    data["detectors"]["missing_case_number"]["exempt_purposes"] = [*exempt, "network-observed"]
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def ingest(fmt: str, log: Path, policy: Path, topics: TopicNames, bootstrap: str) -> str:
    return frtwatch(
        "ingest", fmt, str(log),
        "--leases", str(SCENARIO / "leases.csv"), "--ranges", str(SCENARIO / "ranges.csv"),
        "--policy", str(policy), "--topic", topics.events, "--dlq-topic", topics.dlq,
        "--bootstrap", bootstrap, "--no-progress",
    )  # fmt: skip


def test_squid_and_zeek_logs_give_one_prohibited_alert_per_officer(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    rules_policy: Path,
    tmp_path: Path,
) -> None:
    policy = network_policy(rules_policy, tmp_path / "network-policy.yaml")
    worker = worker_factory(policy)

    began = time.perf_counter()
    for fmt, log in (("squid", SCENARIO / "access.log"), ("zeek-ssl", SCENARIO / "ssl.log")):
        print("\n" + ingest(fmt, log, policy, topic_names, kafka_bootstrap))
    ingested = time.perf_counter() - began
    wait_drained(worker, kafka_bootstrap, EVENTS_PER_PASS)
    drained = time.perf_counter() - began

    alerts = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    found = sorted(
        (a["detector"], a["agency"], a["user"], a["details"]["host"], a["details"]["vendor"],
         a["event_count"])
        for a in alerts.values()
    )  # fmt: skip
    assert found == [
        ("prohibited_endpoint", "CSO", "cso-0001", "facecheck.id", "FaceCheck.ID", 1),
        ("prohibited_endpoint", "MPD", "mpd-0001", "pimeyes.com", "PimEyes", 2),
    ]
    for alert in alerts.values():
        assert alert["details"]["service_kind"] == "commercial-open-web"
        assert alert["details"]["vendor"] in alert["summary"]

    first = read_topic(kafka_bootstrap, topic_names.events)
    assert len(first) == EVENTS_PER_PASS
    events = [orjson.loads(r.value) for r in first]
    assert {e["source"] for e in events} == {"squid", "zeek-ssl"}
    assert all(e["attribution"] == "lease" and e["purpose"] == "network-observed" for e in events)
    assert {r.key for r in first} == {
        b"MPD/mpd-0001",
        b"MPD/mpd-0002",
        b"CSO/cso-0001",
        b"TPD/tpd-0001",
    }

    letters = read_topic(kafka_bootstrap, topic_names.dlq)
    raw_lines = {
        line
        for name in ("access.log", "ssl.log")
        for line in (SCENARIO / name).read_bytes().splitlines()
    }
    assert len(letters) == 2
    for letter in letters:
        headers = dict(letter.headers)
        assert letter.value in raw_lines, "a dead letter keeps the raw line"
        assert headers["frt-dlq-schema"] == b"frt.dlq.v1"
        assert headers["frt-dlq-reason"].startswith(b"expected ")
        assert headers["frt-dlq-source-topic"].startswith(b"file:")
        line_no = int(headers["frt-dlq-source-offset"])
        source = Path(headers["frt-dlq-source-topic"].decode().removeprefix("file:"))
        assert source.read_bytes().splitlines()[line_no - 1] == letter.value
    assert {dict(x.headers)["frt-ingest-format"] for x in letters} == {b"squid", b"zeek-ssl"}

    # The same files again: the same events, counted once by the worker.
    for fmt, log in (("squid", SCENARIO / "access.log"), ("zeek-ssl", SCENARIO / "ssl.log")):
        ingest(fmt, log, policy, topic_names, kafka_bootstrap)
    wait_drained(worker, kafka_bootstrap, 2 * EVENTS_PER_PASS)
    both = read_topic(kafka_bootstrap, topic_names.events)
    assert len(both) == 2 * EVENTS_PER_PASS
    ids = Counter(orjson.loads(r.value)["event_id"] for r in both)
    assert set(ids.values()) == {2} and len(ids) == EVENTS_PER_PASS
    assert sorted(r.value for r in both) == sorted(r.value for r in first * 2)
    again = latest_alerts(read_topic(kafka_bootstrap, topic_names.alerts))
    assert {k: a["event_count"] for k, a in again.items()} == {
        k: a["event_count"] for k, a in alerts.items()
    }
    print(
        f"ingest of both logs {ingested:.2f} s; first pass drained by the worker "
        f"{drained:.2f} s after the ingest began; {len(alerts)} alerts, 2 dead letters"
    )


def test_zeek_json_from_a_raw_logs_topic(
    kafka_bootstrap: str, topic_names: TopicNames, create_topics, unique_name: str
) -> None:
    """Zeek's Kafka writer to a raw-logs topic, ``ingest --from-topic``: events and dead
    letters that name the raw record's topic, partition and offset; the consumer group
    resumes after what it read."""
    raw_topic = f"t{unique_name}.zeek-ssl"
    create_topics([raw_topic], partitions=1)
    create_topics([topic_names.events, topic_names.dlq], partitions=4)
    lines = (FILES / "sources" / "zeek" / "ssl.json").read_bytes().splitlines()
    produce(kafka_bootstrap, raw_topic, [(None, line) for line in lines])
    args = (
        "ingest", "zeek-ssl", "--from-topic", raw_topic, "--until-end", "--group",
        f"ingest-{unique_name}", "--agency", "CSO", "--topic", topic_names.events,
        "--dlq-topic", topic_names.dlq, "--bootstrap", kafka_bootstrap, "--gap", "0",
    )  # fmt: skip
    output = frtwatch(*args)
    assert "5 records: 1 events" in output and "3 dead letters" in output
    (event,) = [orjson.loads(r.value) for r in read_topic(kafka_bootstrap, topic_names.events)]
    assert (event["agency"], event["user"], event["endpoint"]) == (
        "CSO", "unattributed@10.20.0.7", "facecheck.id",
    )  # fmt: skip
    letters = read_topic(kafka_bootstrap, topic_names.dlq)
    coordinates = sorted(
        (dict(x.headers)["frt-dlq-source-topic"], int(dict(x.headers)["frt-dlq-source-offset"]))
        for x in letters
    )
    assert coordinates == [
        (raw_topic.encode(), 2),
        (raw_topic.encode(), 3),
        (raw_topic.encode(), 4),
    ]
    assert [
        x.value for x in sorted(letters, key=lambda x: dict(x.headers)["frt-dlq-source-offset"])
    ] == lines[2:]
    # The group committed what it read: a second run finds nothing new.
    produce(
        kafka_bootstrap, raw_topic, [(None, lines[0].replace(b"1772443200.311", b"1772443300.5"))]
    )
    assert "1 records: 1 events" in frtwatch(*args)


def test_leases_from_a_compacted_topic(
    kafka_bootstrap: str, create_topics, unique_name: str, tmp_path: Path
) -> None:
    """Leases fed to a compacted topic (key ``<address>/<start>``) attribute like the CSV:
    the last record per key counts, a tombstone removes a lease, a bad record is an error
    naming its topic, partition and offset."""
    import csv
    import subprocess

    from tests.integration.worker_harness import FRTWATCH

    topic = f"t{unique_name}.leases"
    create_topics([topic], partitions=2, compact=True)
    with (SCENARIO / "leases.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    records: list[tuple[bytes | None, bytes | None]] = []
    for row in rows:
        value = {**row, "end": row["end"] or None}
        records.append((f"{row['address']}/{row['start']}".encode(), orjson.dumps(value)))
    # A wrong lease for tpd-0001's address, then its correction under the same key;
    # and a lease that was withdrawn (tombstone).
    tpd = next(r for r in rows if r["user"] == "tpd-0001")
    key = f"{tpd['address']}/{tpd['start']}".encode()
    records.insert(0, (key, orjson.dumps({**tpd, "user": "someone-else", "end": None})))
    gone = b"10.20.0.7/2026-03-02T07:30:00Z"
    records.append((gone, None))
    produce(kafka_bootstrap, topic, records)

    out = tmp_path / "events.jsonl"
    frtwatch("ingest", "squid", str(SCENARIO / "access.log"), "--leases-topic", topic,
             "--ranges", str(SCENARIO / "ranges.csv"), "--bootstrap", kafka_bootstrap,
             "--out", str(out), "--no-progress")  # fmt: skip
    users = [orjson.loads(line)["user"] for line in out.read_bytes().splitlines()]
    assert users == ["mpd-0001", "mpd-0002", "tpd-0001", "mpd-0001", "mpd-0002"]

    zeek_out = tmp_path / "zeek.jsonl"
    frtwatch("ingest", "zeek-ssl", str(SCENARIO / "ssl.log"), "--leases-topic", topic,
             "--ranges", str(SCENARIO / "ranges.csv"), "--bootstrap", kafka_bootstrap,
             "--out", str(zeek_out), "--no-progress")  # fmt: skip
    zeek_users = {orjson.loads(line)["user"] for line in zeek_out.read_bytes().splitlines()}
    assert zeek_users == {"unattributed@10.20.0.7", "mpd-0002"}, "cso-0001's lease was withdrawn"

    produce(kafka_bootstrap, topic, [(b"bad/1", b'{"address": "10.0.0.300"}')])
    done = subprocess.run(
        [str(FRTWATCH), "ingest", "squid", str(SCENARIO / "access.log"), "--leases-topic", topic,
         "--bootstrap", kafka_bootstrap, "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert re.fullmatch(
        rf"error: {re.escape(topic)}:\d:\d+: address, agency, user and start must be non-empty strings\n",
        done.stderr,
    )

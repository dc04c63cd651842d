"""``frtwatch produce`` on the real broker: every line arrives unchanged, keyed as asked.

Read back twice: with kafka-python and with Debian's ``kcat`` (a client we did
not write). Certificates arrive on the compacted topic with their keys.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from streams.cli import main
from streams.contract.event import parse_timestamp
from streams.errors import FrtwatchError
from streams.producing import produce_file
from streams.settings import DEFAULT_POLICY, TopicNames
from streams.simulate import SimulationConfig, simulate

Record = tuple[int, bytes | None, bytes]  # partition, key, value
Stamped = tuple[int, bytes]  # message timestamp (ms), value


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("produce-world")
    simulate(SimulationConfig(users=100, days=3, seed=5, policy_path=DEFAULT_POLICY), out)
    return out


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _consume(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Record]:
    """Everything on ``topic`` with kafka-python, in each partition's order."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records += [(tp.partition, m.key, m.value) for m in batch]
    finally:
        consumer.close()
    return records


def _kcat(bootstrap: str, topic: str, fmt: str = "%s\n") -> list[bytes]:
    done = subprocess.run(
        ["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-f", fmt],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.splitlines()


def test_null_keys_every_line_arrives_unchanged(
    world: Path, kafka_bootstrap: str, topic_names: TopicNames,
    create_topics: Callable[..., None],
) -> None:  # fmt: skip
    topic = topic_names.events
    create_topics([topic], partitions=4)
    lines = _lines(world / "events.jsonl")
    assert len(lines) > 1000

    sent = produce_file(world / "events.jsonl", topic, kafka_bootstrap, "null", progress=False)

    assert sent == len(lines)
    records = _consume(kafka_bootstrap, topic, len(lines))
    assert all(key is None for _, key, _ in records)
    assert Counter(value for _, _, value in records) == Counter(lines)
    assert sorted(_kcat(kafka_bootstrap, topic)) == sorted(lines)


def test_agency_user_keys_and_certificates_through_the_command(
    world: Path, kafka_bootstrap: str, topic_names: TopicNames,
    create_topics: Callable[..., None], capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    topic, cert_topic = topic_names.events, topic_names.certifications
    create_topics([topic], partitions=4)
    create_topics([cert_topic], partitions=4, compact=True)
    lines = _lines(world / "events.jsonl")

    status = main(["produce", str(world / "events.jsonl"), "--topic", topic,
                   "--bootstrap", kafka_bootstrap, "--no-progress",
                   "--certifications", str(world / "certifications.csv"),
                   "--certifications-topic", cert_topic])  # fmt: skip

    assert status == 0
    printed = capsys.readouterr().out
    assert f"produced {len(lines):,} events" in printed and "events/s" in printed
    records = _consume(kafka_bootstrap, topic, len(lines))
    assert Counter(value for _, _, value in records) == Counter(lines)
    assert sorted(_kcat(kafka_bootstrap, topic)) == sorted(lines)
    # Key "<agency>/<user>"; one partition per user, so each user's events keep file order.
    partitions: dict[bytes, set[int]] = defaultdict(set)
    order: dict[bytes, list[bytes]] = defaultdict(list)
    for partition, key, value in records:
        event = orjson.loads(value)
        assert key == f"{event['agency']}/{event['user']}".encode()
        partitions[key].add(partition)
        order[key].append(value)
    assert all(len(p) == 1 for p in partitions.values())
    # The partition Java clients choose for the key: murmur2(key) mod partitions.
    from kafka.partitioner.default import murmur2

    assert all(p == {(murmur2(k) & 0x7FFFFFFF) % 4} for k, p in partitions.items())
    expected: dict[bytes, list[bytes]] = defaultdict(list)
    for line in lines:
        event = orjson.loads(line)
        expected[f"{event['agency']}/{event['user']}".encode()].append(line)
    assert order == expected

    with (world / "certifications.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    want = {f"{r['agency']}/{r['user']}".encode(): {"certified_on": r["certified_on"],
            "expires_on": r["expires_on"]} for r in rows}  # fmt: skip
    certs = _consume(kafka_bootstrap, cert_topic, len(rows))
    assert {key: orjson.loads(value) for _, key, value in certs} == want
    assert len(certs) == len(rows)
    by_kcat = [line.split(b"\t", 1) for line in _kcat(kafka_bootstrap, cert_topic, "%k\t%s\n")]
    assert {key: orjson.loads(value) for key, value in by_kcat} == want


def _timestamps(bootstrap: str, topic: str, expected: int) -> list[Stamped]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    stamped: list[Stamped] = []
    deadline = time.monotonic() + 30
    try:
        while len(stamped) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                stamped += [(m.timestamp, m.value) for m in batch]
    finally:
        consumer.close()
    return stamped


def test_random_keys_and_event_timestamps(
    world: Path, kafka_bootstrap: str, topic_names: TopicNames,
    create_topics: Callable[..., None],
) -> None:  # fmt: skip
    topic = topic_names.events
    create_topics([topic], partitions=4)
    lines = _lines(world / "events.jsonl")[:500]
    sample = world / "sample.jsonl"
    sample.write_bytes(b"\n".join(lines) + b"\n")

    sent = produce_file(sample, topic, kafka_bootstrap, "random", False, timestamps="event")

    assert sent == 500
    records = _consume(kafka_bootstrap, topic, 500)
    assert len({key for _, key, _ in records}) == 500
    assert Counter(value for _, _, value in records) == Counter(lines)
    # timestamps="event": each message carries its event's time, as a bulk load of history.
    for stamp, value in _timestamps(kafka_bootstrap, topic, 500):
        assert stamp == round(parse_timestamp(orjson.loads(value)["ts"]) * 1000)


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FrtwatchError, match="cannot read"):
        produce_file(tmp_path / "absent.jsonl", "t", "127.0.0.1:9092", progress=False)


def test_an_unreachable_broker_is_one_line_and_exit_1(world: Path) -> None:
    # A child process: kafka-python leaves the sockets of a failed bootstrap open.
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "produce", str(world / "events.jsonl"),
         "--topic", "unused", "--bootstrap", "127.0.0.1:1", "--no-progress"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: cannot reach Kafka at 127.0.0.1:1: KafkaTimeoutError: Unable to bootstrap "
        "from 127.0.0.1:1"
    ]


def test_simulate_produce_generates_and_publishes_in_one_go(
    tmp_path: Path, kafka_bootstrap: str, topic_names: TopicNames,
    create_topics: Callable[..., None], capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    topic, cert_topic = topic_names.events, topic_names.certifications
    create_topics([topic], partitions=4)
    create_topics([cert_topic], partitions=4, compact=True)
    out = tmp_path / "world"

    status = main(["simulate", "--out", str(out), "--users", "60", "--days", "3",
                   "--policy", str(DEFAULT_POLICY), "--produce", "--topic", topic,
                   "--bootstrap", kafka_bootstrap, "--key", "null",
                   "--certifications-topic", cert_topic, "--no-progress"])  # fmt: skip

    assert status == 0
    printed = capsys.readouterr().out
    assert "published" in printed and "produced" in printed
    lines = _lines(out / "events.jsonl")
    assert Counter(v for _, _, v in _consume(kafka_bootstrap, topic, len(lines))) == Counter(lines)
    rows = (out / "certifications.csv").read_text().splitlines()[1:]
    assert len(_consume(kafka_bootstrap, cert_topic, len(rows))) == len(rows)

"""Train the behaviour model from a time range of a real Kafka topic."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer

from models.artifact import card_path
from models.scoring import load_model
from streams.cli import main
from streams.contract.alert import format_ts
from tests.unit.models.synthetic_world import START, make_world

DAY = 86_400


def test_train_from_a_topic_time_range(
    kafka_bootstrap: str,
    unique_name: str,
    create_topics: Callable[..., None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = f"t{unique_name}.frt.search-events"
    create_topics([topic], partitions=3)
    world = make_world(seed=5, users=60, days=10)
    junk_ts: float | None = START + 3 * DAY  # an invalid message inside the range, stamped in order
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=20)
    for event in world.events:
        if junk_ts is not None and event.ts >= junk_ts:
            producer.send(
                topic, key=b"MPD/junk", value=b"not json", timestamp_ms=int(junk_ts * 1000)
            )
            junk_ts = None
        value = json.dumps({**event.to_dict(), "ts": format_ts(event.ts)}).encode()
        producer.send(topic, key=event.user_key.encode(), value=value,
                      timestamp_ms=int(event.ts * 1000))  # fmt: skip
    producer.flush()
    producer.close()

    range_from, range_to = START + 1 * DAY, START + 8 * DAY
    expected = sum(1 for e in world.events if range_from <= e.ts < range_to)
    model = tmp_path / "behavior.skops"
    code = main(["model", "train", "--topic", topic, "--bootstrap", kafka_bootstrap,
                 "--from", format_ts(range_from), "--to", "2026-03-10", "--out", str(model)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    card = json.loads(card_path(model).read_text())
    training = card["training"]
    assert training["event_count"] == expected
    assert training["rejected_count"] == 1
    assert training["source"] == f"topic:{topic}@{kafka_bootstrap}"
    assert (training["range_from"], training["range_to"]) == (
        format_ts(range_from),
        format_ts(range_to),
    )
    assert training["first_event"] >= format_ts(range_from)
    assert training["last_event"] < format_ts(range_to)
    assert load_model(model).threshold > 0


def test_missing_topic_is_a_clear_error(
    kafka_bootstrap: str, unique_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["model", "train", "--topic", f"absent-{unique_name}", "--bootstrap",
                 kafka_bootstrap, "--from", "2026-03-02", "--to", "2026-03-03",
                 "--out", str(tmp_path / "m.skops")])  # fmt: skip
    assert code == 1
    assert "does not exist" in capsys.readouterr().err

"""Valid and malformed input, from kafka-python and from Debian's kcat, through a real worker.

Valid events must reach their user's state (read back from the state
table's changelog topic, which is what a restarted worker rebuilds from);
every malformed message must land on the dead-letter topic with its reason,
its original key and bytes, and coordinates that point at the original
record; and the worker must still be running afterwards.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson

from streams.contract.dead_letter import (
    DLQ_SCHEMA,
    HEADER_REASON,
    HEADER_SCHEMA,
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
)
from streams.detectors.state import UserState, event_hash
from streams.judge.progress_marks import split
from streams.settings import TopicNames
from streams.worker.tables import USER_TABLE
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    dumps,
    kcat_produce,
    latest_by_key,
    produce,
    read_topic,
    search,
)


def test_valid_and_malformed_input_from_two_clients(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    rules_policy: Path,
) -> None:
    worker = worker_factory(rules_policy)
    topic = topic_names.events

    # Valid events: kafka-python with user keys and with null keys, kcat with
    # null keys and with random keys.
    by_user: dict[str, list[dict[str, Any]]] = {
        "MPD/mpd-0001": [search("mpd-0001", "MPD", n) for n in range(5)],
        "TPD/tpd-0001": [search("tpd-0001", "TPD", n) for n in range(3)],
        "MPD/mpd-0002": [search("mpd-0002", "MPD", n) for n in range(4)],
        "CSO/cso-0001": [search("cso-0001", "CSO", n) for n in range(6)],
    }
    produce(kafka_bootstrap, topic, [(b"MPD/mpd-0001", dumps(e)) for e in by_user["MPD/mpd-0001"]])
    produce(kafka_bootstrap, topic, [(None, dumps(e)) for e in by_user["TPD/tpd-0001"]])
    kcat_produce(kafka_bootstrap, topic, [dumps(e) for e in by_user["MPD/mpd-0002"]],
                 key_delimiter=False)  # fmt: skip
    kcat_produce(kafka_bootstrap, topic,
                 [uuid.uuid4().hex.encode() + b"\t" + dumps(e) for e in by_user["CSO/cso-0001"]],
                 key_delimiter=True)  # fmt: skip

    # Malformed input: (key, value, expected reason fragment).
    good = search("mpd-0001", "MPD", 50)
    missing = {k: v for k, v in good.items() if k != "agency"}
    oversized = {**good, "padding": "x" * 70_000}
    malformed: list[tuple[bytes | None, bytes | None, str]] = [
        (b"k-badjson", b'{"event_id": "bad-1", "ts": ', "not valid UTF-8 JSON"),
        (None, b'["not", "an", "object"]', "must be a JSON object"),
        (b"k-missing", dumps(missing), "missing required field 'agency'"),
        (b"k-type", dumps({**good, "user": 42}), "field 'user' must be a string"),
        (b"k-count", dumps({**good, "result_count": "3"}), "'result_count' must be an integer"),
        (b"k-ts", dumps({**good, "ts": "2026-03-02 09:00"}), "not an RFC 3339 timestamp"),
        (b"k-ts2", dumps({**good, "ts": "2026-02-30T09:00:00Z"}), "not a valid date-time"),
        (b"k-big", dumps(oversized), "more than 65536"),
        (b"k-null", None, "message has no value (null)"),
        (b"k-utf8", b'{"event_id": "\xff\xfe", "ts": "2026-03-02T09:00:00Z"}',
         "not valid UTF-8 JSON"),
        (b"k-empty", b"", "message value is empty"),
    ]  # fmt: skip
    produce(kafka_bootstrap, topic, [(k, v) for k, v, _ in malformed])
    kcat_lines = [
        (b"kcat-badjson", b"{this is not json}", "not valid UTF-8 JSON"),
        (b"kcat-null", b"", "message has no value (null)"),
        (b"kcat-scalar", b"12345", "must be a JSON object"),
    ]
    kcat_produce(kafka_bootstrap, topic, [k + b"\t" + v for k, v, _ in kcat_lines],
                 key_delimiter=True)  # fmt: skip
    kcat_produce(kafka_bootstrap, topic, [b'"just a string"'], key_delimiter=False)
    expected = [*malformed, *[(k, v or None, r) for k, v, r in kcat_lines],
                (None, b'"just a string"', "must be a JSON object")]  # fmt: skip

    # Every malformed message is dead-lettered with its reason and coordinates.
    dlq = read_topic(kafka_bootstrap, topic_names.dlq, until=lambda r: len(r) >= len(expected))
    assert len(dlq) == len(expected)
    source = read_topic(kafka_bootstrap, topic, until=lambda r: len(r) >= 18 + len(expected))
    originals = {(r.partition, r.offset): r for r in source}
    unmatched = list(expected)
    for record in dlq:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers[HEADER_SCHEMA] == DLQ_SCHEMA
        assert headers[HEADER_SOURCE_TOPIC] == topic
        original = originals[
            (int(headers[HEADER_SOURCE_PARTITION]), int(headers[HEADER_SOURCE_OFFSET]))
        ]
        assert (record.key, record.value) == (original.key, original.value)
        match = next(
            (i for i, (k, v, _) in enumerate(unmatched) if (k, v) == (record.key, record.value)),
            None,
        )
        assert match is not None, f"unexpected dead letter {record.key!r}: {record.value!r:.80}"
        reason_fragment = unmatched.pop(match)[2]
        assert reason_fragment in headers[HEADER_REASON], headers[HEADER_REASON]
    assert unmatched == []

    # Every valid event is counted in its user's state, read from the changelog.
    changelog = f"{worker.app_id}-{USER_TABLE}-changelog"

    def states(records: list[Any]) -> dict[str, UserState]:
        latest = latest_by_key(records)
        return {orjson.loads(k): UserState.from_bytes(split(r.value)[1]) for k, r in latest.items()}

    def counted(records: list[Any]) -> bool:
        found = states(records)
        return all(
            key in found and found[key].remembered == len(events) for key, events in by_user.items()
        )

    user_states = states(read_topic(kafka_bootstrap, changelog, until=counted))
    for key, events in by_user.items():
        state = user_states[key]
        assert all(state.has_seen(event_hash(e["event_id"])) for e in events), key
        assert sum(state.fine) == len(events), key  # all within one sliding window
    assert set(user_states) == set(by_user)

    assert worker.alive()
    assert worker.stop() == 0

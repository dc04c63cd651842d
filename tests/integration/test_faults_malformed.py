"""A tenth of the input malformed (property-based): every bad message dead-lettered, every good one judged.

Hypothesis draws batches of malformed payloads: bytes that are not JSON or
not UTF-8, JSON that is not an object, events with a required field missing,
of the wrong type, empty or too long, impossible timestamps, bad optional
fields, values over the 64 KiB limit, empty and null values. Each batch is
mixed into nine times as many valid events at random places and sent to one
running worker. Every message has a key of its own, so the test can tell:

* every malformed message is on the dead-letter topic exactly once, with its
  original key and bytes (a null value stays null), a one-line reason and
  the coordinates of the original record;
* every valid event was judged: each is the first search of a user of its
  own on a prohibited service, so it opens a ``prohibited_endpoint`` alert
  whose first evidence is that very event, and its user has a state record;
* nothing malformed raised an alert, and the worker is still running.

Examples are few (each one is a round trip through the real broker); the
worker is shared by the examples, which use ids of their own.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.contract import MAX_EVENT_BYTES
from streams.contract.dead_letter import (
    DLQ_SCHEMA,
    HEADER_REASON,
    HEADER_SCHEMA,
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
)
from streams.settings import TopicNames
from streams.worker.ingest.triage import triage
from streams.worker.tables import USER_TABLE
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import WorkerProcess, latest_alerts, produce, read_topic

VALID_PER_EXAMPLE = 45
MALFORMED_PER_EXAMPLE = 5
PROHIBITED = "https://app.clearview.ai/search"
REQUIRED = ("event_id", "ts", "agency", "user", "endpoint")


def valid_event(run: str, n: int, extra: bool) -> dict[str, Any]:
    """The first search of a user of its own, on a prohibited service."""
    event: dict[str, Any] = {
        "event_id": f"{run}-ok-{n}",
        "ts": f"2026-03-02T10:{n % 60:02d}:{(n * 7) % 60:02d}Z",
        "agency": "MPD",
        "user": f"{run}-user-{n}",
        "endpoint": PROHIBITED,
        "case_number": f"C-{n}",
        "purpose": "investigation",
    }
    if extra:
        event["shipper_note"] = {"unknown": ["fields", "are", "kept"]}  # still valid
    return event


def _template() -> dict[str, Any]:
    return valid_event("template", 0, False)


ints = st.integers(-(2**63), 2**64 - 1)  # what JSON encoders (orjson) can write
json_scalars = st.one_of(
    st.none(), st.booleans(), ints, st.floats(allow_nan=False), st.text(max_size=20)
)
not_a_string = st.one_of(
    st.none(), st.booleans(), ints, st.floats(allow_nan=False),
    st.lists(ints, max_size=3), st.dictionaries(st.text(max_size=3), ints, max_size=2),
)  # fmt: skip
bad_timestamps = st.one_of(
    st.sampled_from([
        "2026-03-02 10:00:00", "2026-03-02T10:00:00", "2026-13-01T00:00:00Z",
        "2026-02-30T10:00:00Z", "yesterday", "1772445600", "2026-03-02T25:61:00Z",
    ]),
    st.text(alphabet="0123456789-:TZ+ ", min_size=1, max_size=12),
)  # fmt: skip


@st.composite
def malformed_payload(draw: st.DrawFn) -> bytes | None:
    """One message value that is not a valid ``frt.search.v1`` event."""
    kind = draw(st.sampled_from([
        "bytes", "not_utf8", "not_object", "missing", "wrong_type", "empty_field",
        "too_long", "bad_ts", "bad_optional", "oversize", "empty", "null",
    ]))  # fmt: skip
    event = _template()
    if kind == "bytes":
        return draw(st.binary(min_size=1, max_size=300))
    if kind == "not_utf8":
        return b"\xff\xfe" + draw(st.binary(max_size=100))
    if kind == "not_object":
        return orjson.dumps(draw(st.one_of(json_scalars, st.lists(json_scalars, max_size=4))))
    if kind == "missing":
        del event[draw(st.sampled_from(REQUIRED))]
    elif kind == "wrong_type":
        event[draw(st.sampled_from(REQUIRED))] = draw(not_a_string)
    elif kind == "empty_field":
        event[draw(st.sampled_from(REQUIRED))] = ""
    elif kind == "too_long":
        field, limit = draw(st.sampled_from([("event_id", 128), ("agency", 64), ("user", 128),
                                             ("endpoint", 2048)]))  # fmt: skip
        event[field] = "x" * draw(st.integers(limit + 1, limit + 300))
    elif kind == "bad_ts":
        event["ts"] = draw(bad_timestamps)
    elif kind == "bad_optional":
        field, value = draw(st.sampled_from([
            ("result_count", -1), ("result_count", "3"), ("probe_sha256", "abc"),
            ("case_number", 17), ("on_behalf_of", ["TPD"]), ("purpose", 5),
        ]))  # fmt: skip
        event[field] = value
    elif kind == "oversize":
        event["padding"] = "p" * (MAX_EVENT_BYTES + draw(st.integers(1, 2000)))
    elif kind == "empty":
        return b""
    elif kind == "null":
        return None
    return orjson.dumps(event)


@pytest.fixture
def fuzz_worker(worker_factory: WorkerFactory, per_user_policy: Path) -> WorkerProcess:
    """One worker for every example of the property (each example uses ids of its own);
    alerts per user, so each valid event opens an alert of its own."""
    return worker_factory(per_user_policy)


def _header(record: Any, name: str) -> bytes | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value)
    return None


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one worker for all examples, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    bad=st.lists(
        malformed_payload(), min_size=MALFORMED_PER_EXAMPLE, max_size=MALFORMED_PER_EXAMPLE
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_malformed_tenth_is_dead_lettered_and_the_rest_judged(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    fuzz_worker: WorkerProcess,
    bad: list[bytes | None],
    seed: int,
) -> None:
    for value in bad:  # the generator's own check: the contract rejects every one
        assert triage(value).event is None, value
    worker = fuzz_worker
    run = f"fz{uuid.uuid4().hex[:8]}"
    rng = random.Random(seed)
    records: list[tuple[bytes, bytes | None]] = [
        (f"{run}-ok-{n}".encode(), orjson.dumps(valid_event(run, n, extra=n % 3 == 0)))
        for n in range(VALID_PER_EXAMPLE)
    ]
    malformed = {f"{run}-bad-{i}".encode(): value for i, value in enumerate(bad)}
    for key, value in malformed.items():
        records.insert(rng.randrange(len(records) + 1), (key, value))
    produce(kafka_bootstrap, topic_names.events, records)

    def ours(record: Any) -> bool:
        return record.key is not None and record.key.startswith(f"{run}-".encode())

    letters = read_topic(
        kafka_bootstrap, topic_names.dlq, timeout=90,
        until=lambda rs: {r.key for r in rs if ours(r)} >= set(malformed),
    )  # fmt: skip
    valid_ids = {f"{run}-ok-{n}" for n in range(VALID_PER_EXAMPLE)}

    def first_evidence(rs: list[Any]) -> set[str]:
        alerts = latest_alerts(rs).values()
        return {a["event_ids"][0] for a in alerts if a["detector"] == "prohibited_endpoint"}

    alerts = read_topic(kafka_bootstrap, topic_names.alerts, timeout=90,
                        until=lambda rs: first_evidence(rs) >= valid_ids)  # fmt: skip

    mine = [r for r in letters if ours(r)]
    assert sorted(r.key for r in mine) == sorted(malformed), (
        "a malformed message twice or a valid one"
    )
    for record in mine:
        assert record.value == malformed[record.key], "the dead letter is not the original bytes"
        assert _header(record, HEADER_SCHEMA) == DLQ_SCHEMA.encode()
        reason = _header(record, HEADER_REASON)
        assert reason and b"\n" not in reason, record.headers
        assert _header(record, HEADER_SOURCE_TOPIC) == topic_names.events.encode()
        assert _header(record, HEADER_SOURCE_PARTITION) is not None
        assert _header(record, HEADER_SOURCE_OFFSET) is not None
    judged = first_evidence(alerts)
    assert valid_ids <= judged
    assert not {i for i in judged if i.startswith(run) and i not in valid_ids}
    users = {orjson.loads(r.key) for r in read_topic(
        kafka_bootstrap, f"{worker.app_id}-{USER_TABLE}-changelog", timeout=60,
        until=lambda rs: {orjson.loads(r.key) for r in rs} >= {f"MPD/{run}-user-{n}"
                                                              for n in range(VALID_PER_EXAMPLE)},
    )}  # fmt: skip
    assert {u for u in users if run in u} == {
        f"MPD/{run}-user-{n}" for n in range(VALID_PER_EXAMPLE)
    }
    assert worker.alive()

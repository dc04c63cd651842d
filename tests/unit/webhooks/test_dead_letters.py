"""Webhook dead letters always fit the broker: big ones are cut, and say so."""

from __future__ import annotations

import base64

import orjson
import pytest

from streams.webhooks.alert_message import AlertMessage, parse_alert_message
from streams.webhooks.dead_letters import (
    MAX_KEY_BYTES,
    MAX_RECORD_BYTES,
    dead_letter,
    dead_letter_key,
    encode,
)

BROKER_LIMIT = 1024 * 1024  # Kafka's default message.max.bytes (plus a little for headers)


def _invalid(raw: bytes, error: str = "not a valid alert") -> dict:
    return dead_letter(
        alert=None, raw=raw, source=("frt.alerts", 3, 41), route=None, target=None,
        reason="invalid_alert", error=error, attempts=0, status=None, failed_at=0.0,
    )  # fmt: skip


def test_small_records_are_kept_whole():
    record = _invalid(b'{"schema":"frt.alert.v1"}')
    assert orjson.loads(encode(record)) == record


@pytest.mark.parametrize("size", [800_000, 1_000_000, 5_000_000])
def test_an_oversized_invalid_alert_is_cut_to_fit(size):
    raw = bytes(range(256)) * (size // 256)
    value = encode(_invalid(raw, error="x" * 100_000))
    assert len(value) <= MAX_RECORD_BYTES < BROKER_LIMIT
    record = orjson.loads(value)
    assert record["truncated_from"] > len(raw) and record["raw_bytes"] == len(raw)
    kept = base64.b64decode(record["raw_base64"])
    assert raw.startswith(kept) and len(kept) > MAX_RECORD_BYTES // 2
    # What an operator needs to find the original is all still there.
    assert record["source"] == {"topic": "frt.alerts", "partition": 3, "offset": 41}
    assert record["reason"] == "invalid_alert" and len(record["error"]) == 1000


def _alert(summary: str) -> AlertMessage:
    body = {
        "schema": "frt.alert.v1", "alert_id": "0" * 32, "detector": "burst",
        "severity": "high", "agency": "MPD", "user": "u1",
        "first_seen": "2026-03-01T09:00:00Z", "last_seen": "2026-03-01T09:05:00Z",
        "event_count": 1, "event_ids": ["e1"], "summary": summary, "details": {},
    }  # fmt: skip
    message = parse_alert_message(orjson.dumps(body))
    assert isinstance(message, AlertMessage)
    return message


def test_an_oversized_valid_alert_keeps_its_ids_and_the_start_of_its_body():
    alert = _alert("s" * 900_000)
    record = dead_letter(
        alert=alert, raw=None, source=("frt.alerts", 0, 9), route="siem",
        target="https://siem.example.org", reason="gave_up", error="HTTP 413", attempts=8,
        status=413, failed_at=0.0,
    )  # fmt: skip
    value = encode(record)
    assert len(value) <= MAX_RECORD_BYTES
    out = orjson.loads(value)
    assert out["alert_id"] == "0" * 32 and out["webhook_id"] == alert.webhook_id
    assert out["route"] == "siem" and out["attempts"] == 8 and out["alert"] is None
    assert orjson.dumps(alert.body).startswith(base64.b64decode(out["raw_base64"]))


@pytest.mark.parametrize("limit", [4096, 65_536])
def test_a_smaller_limit_is_honoured(limit):
    assert len(encode(_invalid(b"y" * 300_000), limit)) <= limit


def test_keys_are_bounded():
    assert dead_letter_key(b"k" * 1_000_000) == b"k" * MAX_KEY_BYTES
    assert dead_letter_key(None) is None

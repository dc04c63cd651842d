"""parse_event's compiled fast path gives what the hand-written validation gives: the same
event for a good record, the same dead-letter reason for a bad one.

Every record goes through :func:`parse_event` (the msgspec decoder first, the hand-written
path for whatever it refuses) and through :func:`parse_event_checked` (the hand-written
path alone); the outcomes must be equal, extra fields included.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.contract.event import MAX_EVENT_BYTES, _fast, parse_event, parse_event_checked
from streams.errors import ContractError
from tests.conftest import FILES

GOOD: dict[str, Any] = {
    "event_id": "c4dafc8b3699b1ef6d5c3f0a2882682d",
    "ts": "2026-03-02T05:58:43.060Z",
    "agency": "MPD",
    "user": "mpd-0181",
    "endpoint": "https://frt.county.example.gov/api/v2/search",
    "on_behalf_of": "MPD",
    "case_number": "MPD-2026-847937",
    "purpose": "investigation",
    "probe_sha256": "7ef4deed6fb784b865d72e72b61f50b13c936b8bb02c86dec99cefa6f7cf7b03",
    "result_count": 18,
    "source": "audit-log",
}
LIMITS = {"event_id": 128, "ts": 64, "agency": 64, "user": 128, "endpoint": 2048,
          "on_behalf_of": 64, "case_number": 256, "purpose": 256, "source": 128}  # fmt: skip


def dumps(record: Any, ascii_only: bool = False) -> bytes:
    """JSON of any size of integer (orjson stops at 64 bits), non-ASCII as is or escaped."""
    return json.dumps(record, ensure_ascii=ascii_only, separators=(",", ":")).encode()


def outcome(parse: Any, raw: bytes) -> tuple[str, Any]:
    try:
        event = parse(raw)
    except ContractError as exc:
        return "rejected", exc.reason
    return "event", (event, event.extra)


def same(raw: bytes) -> None:
    if raw and len(raw) <= MAX_EVENT_BYTES:
        assert outcome(parse_event, raw) == outcome(parse_event_checked, raw), raw[:300]


def test_the_sample_files_parse_alike() -> None:
    samples = sorted((FILES / "events").glob("*/*.*"))
    assert len(samples) > 15
    for path in samples:
        same(path.read_bytes())


def test_a_good_event_takes_the_fast_path() -> None:
    raw = orjson.dumps(GOOD)
    assert _fast(raw) is not None
    assert _fast(raw) == parse_event_checked(raw)


def test_hand_picked_edges_parse_alike() -> None:
    edges: list[dict[str, Any]] = []
    for name, limit in LIMITS.items():
        for text in ("", " ", "x" * limit, "x" * (limit + 1), "\U0001f600" * limit,
                     "\U0001f600" * (limit + 1), "\t\n"):  # fmt: skip
            edges.append({**GOOD, name: text})
    for value in (None, 0, -1, 1.0, 1e2, True, 2**63 - 1, 2**63, 2**64 - 1, [], {}):
        for name in GOOD:
            edges.append({**GOOD, name: value})
    for name in GOOD:
        edges.append({k: v for k, v in GOOD.items() if k != name})
    for probe in ("A" * 64, "g" * 64, "a" * 63, "a" * 65, "a" * 64 + "\n"):
        edges.append({**GOOD, "probe_sha256": probe})
    for ts in ("2026-03-02T05:58:43Z", "2026-03-02t05:58:43z", "2026-03-02 05:58:43+01:00",
               "2026-03-02T05:58:43.123456789Z", "2026-02-30T00:00:00Z", "2026-03-02T24:00:00Z",
               "2026-03-02T23:59:60Z", "2026-03-02T05:58:43", "2026-03-02", "2026-03-02T05:58:43Z\n",
               "2026-03-02T05:58:43+25:00"):  # fmt: skip
        edges.append({**GOOD, "ts": ts})
    edges.append({**GOOD, "extra": 1, "nested": {"a": [1, 2]}})
    for edge in edges:
        same(dumps(edge))
        same(dumps(edge, ascii_only=True))
    raw = orjson.dumps(GOOD)
    for bad in (b"[]", b"null", b"1", b'"x"', b"{", b"\xef\xbb\xbf" + raw, raw + b"x", raw + b" ",
                b" \n" + raw, raw[:-1], raw.replace(b'"MPD"', b'"M\\u00e9D"'),
                raw.replace(b'"MPD"', b'"\\ud800"'), raw.replace(b'"MPD"', b'"\xff"'),
                raw.replace(b"18", b"018"), raw.replace(b"18", b"18.0"), raw.replace(b"18", b"NaN"),
                raw[:-1] + b',"agency":"SPD"}', raw[:-1] + b',"agency":null}',
                raw[:-1] + b',"result_count":-1}', raw[:-1] + b',"extra":1,"extra":2}'):  # fmt: skip
        same(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)  # fmt: skip
field_values = st.one_of(
    json_values,
    st.text(min_size=0, max_size=300),
    st.text(alphabet="0123456789abcdefABCDEFg \n", min_size=62, max_size=66),
    st.sampled_from(
        [
            "2026-03-02T05:58:43Z",
            "2026-03-02T05:58:43.5+05:30",
            "2026-13-02T00:00:00Z",
            " ",
            "",
            "\u3000",
            "https://x.example/",
            "x" * 129,
        ]
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(st.sampled_from([*GOOD, "other"]), field_values, max_size=4),
    dropped=st.sets(st.sampled_from(list(GOOD)), max_size=2),
    ascii_only=st.booleans(),
)
def test_mutated_events_parse_alike(
    changes: dict[str, Any], dropped: set[str], ascii_only: bool
) -> None:
    record = {k: v for k, v in {**GOOD, **changes}.items() if k not in dropped}
    same(dumps(record, ascii_only))


@settings(max_examples=300, deadline=None)
@given(cut=st.integers(min_value=1, max_value=400), flips=st.lists(
    st.tuples(st.integers(min_value=0, max_value=399), st.integers(min_value=0, max_value=255)),
    max_size=3))  # fmt: skip
def test_damaged_bytes_parse_alike(cut: int, flips: list[tuple[int, int]]) -> None:
    raw = bytearray(orjson.dumps(GOOD)[:cut])
    for at, byte in flips:
        if at < len(raw):
            raw[at] = byte
    same(bytes(raw))

"""Packing events of one agency into internal records, and reading them back."""

from __future__ import annotations

import orjson

from streams.contract.dead_letter import SourceCoordinates
from streams.worker.ingest.triage import origin_headers
from streams.worker.internal_records import Packer, position, unpack


def event(n: int, agency: str = "MPD", pad: int = 0) -> bytes:
    return orjson.dumps({"event_id": f"e{n}", "agency": agency, "pad": "x" * pad})


def test_each_agency_keeps_its_order_across_full_records() -> None:
    packer = Packer(max_events=3)
    for n in range(8):
        packer.add(b"MPD", 0, 100 + n, event(n))
        if n % 2:
            packer.add(b"TPD", 1, 200 + n, event(n, "TPD"))
    records = packer.records()
    by_agency: dict[bytes, list[tuple[int, int]]] = {}
    for agency, value in records:
        entries = unpack(value, [])
        assert len(entries) <= 3
        by_agency.setdefault(agency, []).extend(source for _, source in entries)  # type: ignore[misc]
    assert by_agency[b"MPD"] == [(0, 100 + n) for n in range(8)]
    assert by_agency[b"TPD"] == [(1, 201), (1, 203), (1, 205), (1, 207)]
    assert packer.records() == []  # taken


def test_a_record_is_closed_at_its_byte_budget() -> None:
    packer = Packer(max_events=100, max_bytes=1000)
    for n in range(5):
        packer.add(b"MPD", 0, n, event(n, pad=400))
    assert [len(unpack(v, [])) for _, v in packer.records()] == [3, 2]


def test_events_come_back_as_sent_with_their_input_coordinates() -> None:
    sent = [(2, 7, event(1)), (0, 3, event(2))]
    packer = Packer()
    for partition, offset, value in sent:
        packer.add(b"MPD", partition, offset, value)
    [(agency, value)] = packer.records()
    assert agency == b"MPD"
    assert unpack(value, []) == [(orjson.loads(v), (p, o)) for p, o, v in sent]


def test_a_single_event_record_with_origin_headers_is_read_too() -> None:
    headers = origin_headers(SourceCoordinates("frt.search-events", 3, 41))
    assert unpack(event(9), headers) == [(orjson.loads(event(9)), (3, 41))]
    assert unpack(event(9), []) == [(orjson.loads(event(9)), None)]


def test_positions_grow_along_records_and_within_them() -> None:
    positions = [position(offset, index) for offset in (5, 6, 9) for index in range(100)]
    assert positions == sorted(set(positions))

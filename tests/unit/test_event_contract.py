"""The frt.search.v1 contract: valid samples parse, every invalid sample is rejected with a reason."""

from __future__ import annotations

import orjson
import pytest

from streams.contract.event import MAX_EVENT_BYTES, SearchEvent, normalise_host, parse_event
from streams.errors import ContractError
from tests.conftest import FILES

VALID = sorted((FILES / "events" / "valid").glob("*.json"))
INVALID = sorted((FILES / "events" / "invalid").glob("*.txt"))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_samples_parse(path):
    event = parse_event(path.read_bytes())
    assert isinstance(event, SearchEvent)
    assert event.host == event.host.lower()
    assert event.on_behalf_of


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_samples_are_rejected_with_a_reason(path):
    with pytest.raises(ContractError) as info:
        parse_event(path.read_bytes())
    assert info.value.reason
    assert len(info.value.reason) < 300


def test_reasons_name_the_problem():
    def reason(raw: bytes) -> str:
        with pytest.raises(ContractError) as info:
            parse_event(raw)
        return info.value.reason

    assert "event_id" in reason((FILES / "events/invalid/missing_event_id.txt").read_bytes())
    assert "RFC 3339" in reason((FILES / "events/invalid/ts_without_offset.txt").read_bytes())
    assert "JSON" in reason((FILES / "events/invalid/truncated_json.txt").read_bytes())
    assert "null" in reason(None)  # type: ignore[arg-type]
    assert "empty" in reason(b"")


def test_defaults_and_normalisation():
    event = parse_event((FILES / "events/valid/extra_fields.json").read_bytes())
    assert event.host == "app.clearview.ai"
    assert event.on_behalf_of == "MPD"
    assert event.case_number is None
    assert event.extra == {"shipper": {"name": "proxy-7", "version": 2}}
    blank = parse_event((FILES / "events/valid/blank_case.json").read_bytes())
    assert blank.case_number is None
    assert blank.result_count == 0


def test_timestamps_with_offsets_are_the_same_instant():
    full = parse_event((FILES / "events/valid/full.json").read_bytes())
    assert full.ts == pytest.approx(1772442900.123)
    assert full.ts_text == "2026-03-02T10:15:00.123+01:00"


def test_round_trip_keeps_unknown_fields():
    raw = (FILES / "events/valid/extra_fields.json").read_bytes()
    event = parse_event(raw)
    again = parse_event(event.to_json())
    assert again == event
    assert orjson.loads(event.to_json())["shipper"] == {"name": "proxy-7", "version": 2}


def test_oversized_payload_is_rejected():
    big = orjson.dumps({
        "event_id": "x", "ts": "2026-03-02T09:15:00Z", "agency": "A", "user": "u",
        "endpoint": "h.example", "padding": "x" * MAX_EVENT_BYTES,
    })  # fmt: skip
    with pytest.raises(ContractError, match="bytes"):
        parse_event(big)


@pytest.mark.parametrize(
    ("endpoint", "host"),
    [
        ("https://FRT.County.example.gov/x", "frt.county.example.gov"),
        ("frt.county.example.gov:8443/path", "frt.county.example.gov"),
        ("http://user:pw@10.0.0.5:8080/", "10.0.0.5"),
        ("pimeyes.com.", "pimeyes.com"),
    ],
)
def test_hosts_are_normalised(endpoint, host):
    assert normalise_host(endpoint) == host


@pytest.mark.parametrize("endpoint", ["", "https://", "not a host", "http://exa mple.com/"])
def test_bad_hosts_are_rejected(endpoint):
    with pytest.raises(ContractError):
        normalise_host(endpoint)


@pytest.mark.parametrize(
    "path", sorted((FILES / "events" / "valid").glob("*.json")), ids=lambda p: p.name
)
def test_compact_fields_come_back_as_the_same_event(path):
    event = parse_event(path.read_bytes())
    back = SearchEvent.from_fields(orjson.loads(orjson.dumps(event.to_fields())))
    assert back == event
    assert back.extra == event.extra and back.to_json() == event.to_json()


def test_compact_fields_of_another_shape_are_refused():
    with pytest.raises(ContractError, match="expected 14 event fields"):
        SearchEvent.from_fields(["e1", 0.0])

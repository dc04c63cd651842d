"""The generic mapping reader: the two shipped mappings on sample exports, errors, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract.dead_letter import SourceCoordinates
from streams.errors import ConfigError
from streams.settings import PROJECT_ROOT
from streams.sources.mapping import MappedReader, load_mapping
from streams.sources.pipeline import DeadOut, EventOut, MappedPipeline
from tests.conftest import FILES

MAPPINGS = PROJECT_ROOT / "config" / "mappings"
SAMPLES = FILES / "sources" / "mapped"


def run(mapping: str, sample: str) -> tuple[list[dict], list[DeadOut], MappedPipeline]:
    import orjson

    pipeline = MappedPipeline(MappedReader(load_mapping(MAPPINGS / mapping)))
    lines = (SAMPLES / sample).read_bytes().splitlines()
    outs = list(
        pipeline.run((raw, SourceCoordinates("file:x", 0, n)) for n, raw in enumerate(lines, 1))
    )
    events = [orjson.loads(o.value) for o in outs if isinstance(o, EventOut)]
    return events, [o for o in outs if isinstance(o, DeadOut)], pipeline


def test_csv_export_with_local_times_and_a_quoted_newline():
    events, dead, pipeline = run("csv-audit-export.yaml", "csv-audit-export.csv")
    assert [e["event_id"] for e in events] == [
        f"state-frt-audit:A-0000{n}" for n in (17, 18, 19, 20)
    ]
    first = events[0]
    assert first["ts"] == "2026-03-02T09:10:00.000Z", "03:10 AM US Central is 09:10 UTC"
    assert (first["agency"], first["user"], first["case_number"], first["result_count"]) == (
        "MPD", "mpd-0001", "MPD-2026-000123", 4,
    )  # fmt: skip
    assert first["source"] == "state-frt-audit" and first["export_format"] == "csv-audit-export"
    assert "case_number" not in events[1], "an empty column is no value"
    assert events[2]["case_number"] == "SPD-2026-000777, follow-up"
    assert events[2]["on_behalf_of"] == "MPD"
    assert [(d.origin.offset, d.reason) for d in dead] == [
        (7, "time '13/45/2026 04:05:00 PM' does not match '%m/%d/%Y %I:%M:%S %p'"),
        (8, "result_count 'many' is not a whole number"),
        (9, "no value for user (from 'UserName')"),
        (10, "expected 9 columns, found 3"),
    ]
    assert dead[0].raw.startswith(b"A-000021,")
    assert pipeline.stats["records"] == 8 and pipeline.stats["events"] == 4


def test_jsonl_export_with_nested_paths_defaults_and_epoch_ms():
    events, dead, _ = run("jsonl-audit-export.yaml", "jsonl-audit-export.jsonl")
    assert events[0]["on_behalf_of"] == "TPD" and events[0]["workstation"] == "MPD-WS-0412"
    assert events[1]["ts"] == "2026-03-02T09:25:00.250Z"
    assert events[1]["endpoint"] == "https://frt.county.example.gov/api/search", "default"
    assert events[1]["purpose"] == "investigation" and "case_number" not in events[1]
    assert [d.reason.split(":")[0] for d in dead] == [
        "time 'yesterday' is not a number",
        "no value for user (from 'operator.login')",
        "the record makes no valid frt.search.v1 event",
        "not valid UTF-8 JSON",
        "no value for ts (from 'timestamp')",
    ]


def test_mapping_errors_are_listed_with_lines():
    path = FILES / "sources" / "config" / "mapping_invalid.yaml"
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    lines = [(int(e.split(":")[1]), e.split(": ", 1)[1]) for e in caught.value.errors]
    assert lines == [
        (2, "format: 'xml' is not csv or jsonl"),
        (4, "fields: missing 'endpoint'"),
        (4, "fields.ts.format: 'yesterday' is not rfc3339, epoch, epoch_ms or a strptime pattern"),
        (4, "fields.ts.timezone: unknown time zone 'Mars/Olympus'"),
        (5, "fields.agency: give exactly one of 'path' and 'const'"),
        (6, "fields.user: 'format' and 'timezone' apply to ts only"),
        (7, "fields.result_count.type: must be int or string"),
        (
            8,
            "fields: unknown key 'colour' (expected one of agency, case_number, endpoint, event_id, "
            "on_behalf_of, probe_sha256, purpose, result_count, ts, user)",
        ),
        (10, "extra: 'source' is not a free field name"),
    ]


def test_a_record_without_its_own_id_gets_a_content_hash(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\nformat: csv\nsource: x\ncsv: {columns: [t, a, u]}\nfields:\n"
        "  ts: {path: t, format: epoch}\n  agency: {path: a}\n  user: {path: u}\n"
        "  endpoint: {const: frt.county.example.gov}\n",
        encoding="utf-8",
    )
    pipeline = MappedPipeline(MappedReader(load_mapping(mapping)))
    lines = [b"1772442000,MPD,u1", b"1772442000,MPD,u1", b"1772442001,MPD,u1"]
    outs = list(pipeline.run((raw, SourceCoordinates("f", 0, n)) for n, raw in enumerate(lines)))
    ids = [
        o.value.split(b'"event_id":"')[1].split(b'"')[0] for o in outs if isinstance(o, EventOut)
    ]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2] and ids[0].startswith(b"x-")


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["csv-audit-export.yaml", "jsonl-audit-export.yaml"]),
    st.lists(st.binary(max_size=120), max_size=8),
)
def test_fuzz_every_record_is_an_event_or_a_dead_letter(mapping, lines):
    pipeline = MappedPipeline(MappedReader(load_mapping(MAPPINGS / mapping)))
    header = [
        b"SearchID,SearchDateTime,AgencyORI,UserName,CaseNumber,SearchReason,CandidatesReturned,ProbeImageSHA256,RequestingAgency"
    ]
    feed = (header if mapping.startswith("csv") else []) + [
        line.replace(b"\n", b" ") for line in lines
    ]
    outs = list(pipeline.run((raw, SourceCoordinates("f", 0, n)) for n, raw in enumerate(feed)))
    stats = pipeline.stats
    assert stats["events"] + stats["dead_letters"] == len(outs)
    for out in outs:
        if isinstance(out, DeadOut):
            assert out.reason and out.raw in b"\n".join(feed)


def test_a_record_with_bytes_that_are_not_utf8_is_refused_whole():
    pipeline = MappedPipeline(MappedReader(load_mapping(MAPPINGS / "csv-audit-export.yaml")))
    header = (SAMPLES / "csv-audit-export.csv").read_bytes().splitlines()[0]
    lines = [header, b'A-1,"03/02/2026', b'\x80 03:10:00 AM",MPD,u,,,,,']
    (out,) = pipeline.run((raw, SourceCoordinates("f", 0, n)) for n, raw in enumerate(lines, 1))
    assert isinstance(out, DeadOut) and out.reason == "not UTF-8 text"
    assert out.raw == b"\n".join(lines[1:]) and out.origin.offset == 2

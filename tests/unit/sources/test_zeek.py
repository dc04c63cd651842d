"""Zeek http.log, ssl.log and dns.log in TSV and JSON: samples, header handling, fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sources.records import Observation, ParseError
from streams.sources.zeek import ZeekParser
from tests.conftest import FILES

ZEEK = FILES / "sources" / "zeek"


def read(log: str, name: str) -> list[object]:
    parser = ZeekParser(log)
    out: list[object] = []
    for line in (ZEEK / name).read_text(encoding="utf-8").splitlines():
        try:
            result = parser.parse(line)
        except ParseError as exc:
            out.append(exc.reason)
            continue
        if result is not None:
            out.append(result)
    return out


def hosts(results: list[object]) -> list[object]:
    return [r.host if isinstance(r, Observation) else r for r in results]


def test_ssl_tsv_reads_the_server_name_and_a_repeated_header():
    results = read("ssl", "ssl.log")
    assert hosts(results) == [
        "facecheck.id",
        "",  # no SNI: no host
        "www.example.org",
        "expected 18 columns, found 19",
        "lenso.ai",  # after the rotated log's header block
    ]
    first = results[0]
    assert isinstance(first, Observation)
    assert (first.ts, first.client, first.endpoint) == (1772443200.311, "10.20.0.7", "facecheck.id")
    assert dict(first.extra) == {"zeek_uid": "CmES5u32sYpV7JYN0"}
    assert results[2].client == "fe80::1"


def test_ssl_json_and_its_type_errors():
    assert hosts(read("ssl", "ssl.json")) == [
        "facecheck.id",
        "",
        "'server_name' is not text",
        "'ts' is not a time",
        "'ts' '2026-03-02T09:20:00' has no time zone",
    ]


def test_http_tsv_builds_the_url_from_host_and_uri():
    results = read("http", "http.log")
    assert hosts(results) == [
        "frt.county.example.gov", "www.example.com", "", "search4faces.com",
        "expected 30 columns, found 4", "column 'ts' is not a valid time",
    ]  # fmt: skip
    assert results[0].endpoint == "http://frt.county.example.gov/api/search"
    assert results[3].endpoint == "http://search4faces.com/en/upload photo", "\\x20 decoded"
    assert dict(results[3].extra)["http_method"] == "POST"


def test_http_json_flat_nested_and_tagged_records():
    # The {"dns": {...}} record (a topic carrying every log) is skipped, not read as http.
    assert hosts(read("http", "http.json")) == [
        "frt.county.example.gov",
        "search4faces.com",  # ISO 8601 ts
        "findclone.ru",  # the Kafka plugin's {"http": {...}} with a nested id
        "",
        "not valid JSON: unexpected end of data: line 1 column 64 (char 63)",
        "JSON record is not an object",
    ]


def test_dns_tsv_and_json_read_the_query():
    assert hosts(read("dns", "dns.log")) == [
        "pimeyes.com", "www.google.com", "", "column 'TTLs' is not a valid vector[interval]",
    ]  # fmt: skip
    results = read("dns", "dns.json")
    assert hosts(results) == ["pimeyes.com", "www.google.com"]
    assert dict(results[0].extra)["dns_qtype"] == "A"


def test_a_log_of_another_path_is_refused_line_by_line():
    results = read("ssl", "dns.log")
    assert results and all(r == "this is Zeek's 'dns' log (#path), not 'ssl'" for r in results)


def test_tsv_before_a_header_is_refused():
    with pytest.raises(ParseError, match="before any #fields header"):
        ZeekParser("ssl").parse("1772443200.0\tC1\t10.0.0.1")


def test_unknown_log_is_a_programming_error():
    with pytest.raises(ValueError):
        ZeekParser("conn")


HEADER = (ZEEK / "ssl.log").read_text(encoding="utf-8").splitlines()[:8]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=6))
def test_fuzz_tsv_lines_after_a_header_never_crash(lines):
    parser = ZeekParser("ssl")
    for line in HEADER:
        assert parser.parse(line) is None
    for line in lines:
        try:
            result = parser.parse(line)
        except ParseError as exc:
            assert exc.reason
        else:
            assert result is None or isinstance(result, Observation)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
zeek_keys = st.sampled_from(["ts", "id.orig_h", "server_name", "host", "uri", "query", "uid", "id"])


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["http", "ssl", "dns"]), st.dictionaries(zeek_keys, json_values, max_size=6))
def test_fuzz_json_records_never_crash(log, record):
    try:
        result = ZeekParser(log).parse(json.dumps(record))
    except ParseError as exc:
        assert exc.reason
    else:
        tagged_other = len(record) == 1 and isinstance(next(iter(record.values())), dict)
        assert isinstance(result, Observation) or (result is None and tagged_other)

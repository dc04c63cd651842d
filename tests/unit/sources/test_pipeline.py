"""The network pipeline: filtering, attribution, uses, deterministic events, fuzzing."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract.dead_letter import SourceCoordinates
from streams.contract.event import parse_event
from streams.policy import load_policy
from streams.settings import DEFAULT_POLICY
from streams.sources.attribution import Attribution, load_leases, load_ranges
from streams.sources.catalogue import load_catalogue
from streams.sources.cef import CefParser
from streams.sources.pipeline import DeadOut, EventOut, HostFilter, NetworkPipeline
from streams.sources.squid import SquidParser
from streams.sources.uses import UseGrouper
from streams.sources.zeek import ZeekParser
from tests.conftest import FILES

SCENARIO = FILES / "sources" / "scenario"
POLICY = load_policy(DEFAULT_POLICY)
CATALOGUE = load_catalogue()
COUNTERS = ("events", "same_use", "not_frt", "no_host", "dead_letters", "skipped")


def pipeline(parser, gap: float = 300.0) -> NetworkPipeline:
    attribution = Attribution(
        load_ranges(SCENARIO / "ranges.csv"), load_leases(SCENARIO / "leases.csv")
    )
    return NetworkPipeline(parser, HostFilter(POLICY, CATALOGUE), attribution, UseGrouper(gap))


def run_file(parser, name: str, gap: float = 300.0):
    pipe = pipeline(parser, gap)
    lines = (SCENARIO / name).read_bytes().splitlines()
    outs = list(
        pipe.run((raw, SourceCoordinates(f"file:{name}", 0, n)) for n, raw in enumerate(lines, 1))
    )
    return outs, pipe.stats


def test_squid_scenario_becomes_uses_of_frt_services():
    outs, stats = run_file(SquidParser(), "access.log")
    events = [orjson.loads(o.value) for o in outs if isinstance(o, EventOut)]
    assert [(e["user"], e["endpoint"], e["ts"]) for e in events] == [
        ("mpd-0001", "pimeyes.com:443", "2026-03-02T09:10:00.000Z"),
        ("mpd-0002", "frt.county.example.gov:443", "2026-03-02T09:14:00.000Z"),
        ("tpd-0001", "http://frt.county.example.gov/api/search", "2026-03-02T09:16:00.250Z"),
        ("mpd-0001", "pimeyes.com:443", "2026-03-02T09:40:00.000Z"),
        ("mpd-0002", "frt.county.example.gov:443", "2026-03-02T09:45:00.000Z"),
    ]
    assert events[0]["vendor"] == "PimEyes" and events[0]["service_kind"] == "commercial-open-web"
    assert events[0]["client_address"] == "10.10.0.11" and events[0]["attribution"] == "lease"
    for out in outs:
        if isinstance(out, EventOut):
            event = parse_event(out.value)  # valid frt.search.v1, as the worker reads it
            assert out.key == event.user_key.encode()
            assert event.purpose == "network-observed" and event.source == "squid"
    (dead,) = [o for o in outs if isinstance(o, DeadOut)]
    assert dead.origin.offset == 17 and dead.raw.endswith(b"CONN")
    assert stats["records"] == 20 and sum(stats[c] for c in COUNTERS) == 20
    assert (stats["same_use"], stats["not_frt"]) == (12, 2)


def test_gap_zero_reports_every_request():
    _, stats = run_file(SquidParser(), "access.log", gap=0)
    assert stats["events"] == 17 and stats["same_use"] == 0


def test_reading_twice_gives_the_same_events():
    first, _ = run_file(ZeekParser("ssl"), "ssl.log")
    again, _ = run_file(ZeekParser("ssl"), "ssl.log")
    assert first == again and len([o for o in first if isinstance(o, EventOut)]) == 3


def test_a_host_only_the_policy_knows_is_kept():
    pipe = pipeline(SquidParser())
    line = b"1772442600.000 1 10.10.0.11 TCP_MISS/200 1 GET http://faces.state.example.gov/ - HIER_DIRECT/- -"
    # faces.state.example.gov is in the catalogue too; a host only the policy lists:
    filt = HostFilter(POLICY, load_catalogue(FILES / "sources" / "config" / "catalogue_tiny.yaml"))
    assert filt.service("app.clearview.ai") == ("clearview.ai", None), (
        "the policy's prohibited suffix"
    )
    assert filt.service("frt.county.example.gov") == ("frt.county.example.gov", None), "authorised"
    assert filt.service("www.example.com") is None
    assert [type(o) for o in pipe.run(iter([(line, SourceCoordinates("s", 0, 1))]))] == [EventOut]


def test_an_address_no_agency_owns_is_a_dead_letter():
    pipe = pipeline(SquidParser())
    line = b"1772442600.000 1 192.0.2.9 TCP_TUNNEL/200 1 CONNECT pimeyes.com:443 - HIER_DIRECT/- -"
    (out,) = pipe.run(iter([(line, SourceCoordinates("s", 0, 1))]))
    assert (
        isinstance(out, DeadOut)
        and out.raw == line
        and "no agency for address 192.0.2.9" in out.reason
    )


def test_an_unattributed_record_keeps_the_address():
    pipe = pipeline(SquidParser())
    line = b"1772442600.000 1 10.20.9.9 TCP_TUNNEL/200 1 CONNECT pimeyes.com:443 - HIER_DIRECT/- -"
    (out,) = pipe.run(iter([(line, SourceCoordinates("s", 0, 1))]))
    event = orjson.loads(out.value)
    assert (event["agency"], event["user"], event["attribution"], event["client_address"]) == (
        "CSO", "unattributed@10.20.9.9", "unattributed", "10.20.9.9",
    )  # fmt: skip


def test_over_long_and_non_utf8_lines_are_dead_letters():
    pipe = pipeline(SquidParser())
    lines = [b"x" * 70_000, b"\xff\xfe squid"]
    outs = list(pipe.run((raw, SourceCoordinates("s", 0, n)) for n, raw in enumerate(lines)))
    assert [o.reason for o in outs] == [
        "record is 70000 bytes, more than 65536",
        "not UTF-8 text (byte 0)",
    ]


PARSERS = {"squid": SquidParser, "zeek-ssl": lambda: ZeekParser("ssl"), "zeek-http": lambda: ZeekParser("http"),
           "zeek-dns": lambda: ZeekParser("dns"), "cef": lambda: CefParser(2026)}  # fmt: skip
SAMPLE_LINES = [
    line
    for name in ("squid/access.log", "zeek/ssl.log", "zeek/http.json", "cef/rfc3164.log")
    for line in (FILES / "sources" / name).read_bytes().splitlines()
]


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.binary(max_size=200) | st.sampled_from(SAMPLE_LINES), max_size=12))
def test_fuzz_every_record_ends_in_exactly_one_counter(fmt, lines):
    pipe = pipeline(PARSERS[fmt]())
    lines = [line.replace(b"\n", b"") for line in lines]
    outs = list(pipe.run((raw, SourceCoordinates("f", 0, n)) for n, raw in enumerate(lines)))
    stats = pipe.stats
    assert stats["records"] == len(lines) == sum(stats[c] for c in COUNTERS)
    assert stats["events"] + stats["dead_letters"] == len(outs)
    for out in outs:
        if isinstance(out, DeadOut):
            assert out.raw == lines[out.origin.offset] and out.reason
        else:
            parse_event(out.value)

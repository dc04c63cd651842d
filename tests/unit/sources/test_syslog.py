"""Syslog framing: RFC 5424 (structured data, BOM, nil values), RFC 3164, octet counting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sources.records import ParseError
from streams.sources.syslog import parse_syslog


def test_rfc5424_with_structured_data_and_bom():
    line = (
        '<165>1 2026-03-02T09:10:00.5+01:00 gw app 12 ID47 [a@1 k="v \\"q\\" ]"][b@2] \ufeffCEF:0|x'
    )
    msg = parse_syslog(line)
    assert msg.priority == 165 and msg.hostname == "gw"
    assert msg.ts == 1772439000.5
    assert msg.message == "CEF:0|x"


def test_rfc5424_nil_timestamp_host_and_empty_message():
    msg = parse_syslog("<13>1 - - - - - -")
    assert (msg.ts, msg.hostname, msg.message) == (None, None, "")


def test_rfc3164_takes_the_given_year_and_utc():
    msg = parse_syslog("<13>Dec 31 23:59:59 host tag[1]: text", year=2025)
    assert msg.ts == 1767225599.0 and msg.hostname == "host" and msg.message == "tag[1]: text"


def test_octet_counted_frame_and_bare_message():
    assert parse_syslog("12 <13>1 - h - - - - m").message == "m"
    assert parse_syslog("CEF:0|x").priority is None


@pytest.mark.parametrize(
    "line, reason",
    [
        ("<192>1 - h a p m -", "above 191"),
        ("<13>1 2026-03-02 h a p m -", "not RFC 3339"),
        ("<13>1 2026-02-30T00:00:00Z h a p m -", "not a date"),
        ("<13>1 - h a p m [unclosed", "not closed"),
        ("<13>1 - h a p m x", "structured data"),
        ("<13>1 - h a p m -x", "after a space"),
        ("<13>Foo  2 09:00:00 h m", "not a month"),
        ("<13>garbage", "neither RFC 5424 nor RFC 3164"),
    ],
)
def test_malformed_headers_are_refused(line, reason):
    with pytest.raises(ParseError, match=reason):
        parse_syslog(line, year=2026)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_framing_never_crashes(line):
    try:
        msg = parse_syslog(line, year=2026)
    except ParseError as exc:
        assert exc.reason
    else:
        assert isinstance(msg.message, str)


def test_without_a_year_a_date_ahead_of_now_is_last_years():
    from datetime import UTC, datetime, timedelta

    ahead = datetime.now(UTC) + timedelta(days=3)
    if (ahead.month, ahead.day) == (2, 29):  # last year had no Feb 29
        ahead += timedelta(days=1)
    line = f"<13>{ahead:%b} {ahead.day:2d} 10:00:00 host m"
    stamp = datetime.fromtimestamp(parse_syslog(line).ts, UTC)
    assert stamp.year == ahead.year - 1

"""Deterministic event ids."""

from __future__ import annotations

from streams.sources.event_ids import content_id, record_id


def test_the_same_record_gives_the_same_id_and_others_differ():
    line = b"1772442600.000 87 10.10.0.11 TCP_TUNNEL/200 48213 CONNECT pimeyes.com:443 - HIER_DIRECT/- -"
    assert content_id("squid", line) == content_id("squid", bytes(line))
    assert content_id("squid", line) != content_id("squid", line + b" ")
    assert content_id("squid", line) != content_id("cef", line), "the format is part of the id"
    assert len(content_id("x" * 200, line)) <= 128


def test_a_record_id_is_prefixed_by_its_source_and_bounded():
    assert record_id("state-frt-audit", "A-1") == "state-frt-audit:A-1"
    assert len(record_id("s", "9" * 500)) == 128

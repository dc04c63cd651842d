"""Squid's native access.log: the sample lines, and hypothesis fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sources.records import Observation, ParseError
from streams.sources.squid import SquidParser
from tests.conftest import FILES

SAMPLE = (FILES / "sources" / "squid" / "access.log").read_text(encoding="utf-8").splitlines()


def outcome(line: str) -> object:
    try:
        return SquidParser().parse(line)
    except ParseError as exc:
        return exc.reason


def test_sample_lines_parse_as_squid_documents_them():
    results = [outcome(line) for line in SAMPLE]
    connect = results[0]
    assert isinstance(connect, Observation)
    assert (connect.ts, connect.host, connect.endpoint, connect.client, connect.user) == (
        1772442600.0, "pimeyes.com", "pimeyes.com:443", "10.10.0.11", None,
    )  # fmt: skip
    assert dict(connect.extra) == {"proxy_result": "TCP_TUNNEL/200", "http_method": "CONNECT"}
    assert results[1].host == "www.example.com"
    assert results[2].user == "jdoe@MPD.EXAMPLE", "the user field is URL-quoted"
    assert results[2].host == "app.clearview.ai"
    assert dict(results[3].extra)["proxy_result"] == "TCP_DENIED/403", "a denied attempt is kept"
    assert results[4].host == "", "Squid's own error lines name no host"
    assert results[5].client == "2001:db8::17" and results[5].host == "frt.county.example.gov"
    assert results[6] is None
    assert results[7] == "expected 10 fields of Squid's native format, found 6"
    assert results[8].startswith("time 'yesterday'")
    assert results[9] == "client '10.10.0.300' is not an IP address"
    assert results[10] == "expected 10 fields of Squid's native format, found 12"
    assert "no valid host" in results[11]


@pytest.mark.parametrize(
    "line, reason",
    [
        (
            "1772442600.000 87 10.0.0.1 TCP/200 1 GET http://x.example/ - HIER_DIRECT/1.2.3.4 -",
            None,
        ),
        (
            "1772442600.000 x 10.0.0.1 TCP_MISS/200 1 GET http://x.example/ - HIER_DIRECT/- -",
            "whole numbers",
        ),
        ("1772442600.000 1 10.0.0.1 MISS 1 GET http://x.example/ - HIER_DIRECT/- -", "CODE/STATUS"),
        (
            "1772442600.000 1 10.0.0.1 TCP_MISS/200 1 get http://x.example/ - HIER_DIRECT/- -",
            "HTTP method",
        ),
        ("1772442600.000 1 10.0.0.1 TCP_MISS/200 1 GET http://x.example/ - DIRECT -", "CODE/PEER"),
        (
            "1772442600 1 10.0.0.1 TCP_MISS/200 1 GET http://x.example/ - HIER_DIRECT/- -",
            "milliseconds",
        ),
    ],
)
def test_each_field_is_checked(line, reason):
    result = outcome(line)
    if reason is None:
        assert isinstance(result, Observation)
    else:
        assert isinstance(result, str) and reason in result


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_text_is_an_observation_a_skip_or_a_parse_error(line):
    result = outcome(line)
    assert result is None or isinstance(result, Observation | str)


host_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
top_label = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
"""A name's last label starts with a letter: browsers read a numeric one as an IPv4 address."""


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1_000_000_000, 9_999_999_999),
    st.integers(0, 999),
    st.ip_addresses(),
    st.tuples(st.lists(host_label, min_size=1, max_size=3), top_label),
    st.sampled_from(["CONNECT", "GET", "POST"]),
    st.one_of(st.just("-"), st.from_regex(r"[a-z][a-z0-9._%-]{0,20}", fullmatch=True)),
)
def test_fuzz_well_formed_lines_always_parse(seconds, millis, ip, labels, method, user):
    host = ".".join([*labels[0], labels[1]])
    url = f"{host}:443" if method == "CONNECT" else f"http://{host}/p?q=1"
    line = f"{seconds}.{millis:03d} 12 {ip} TCP_MISS/200 99 {method} {url} {user} HIER_DIRECT/- -"
    obs = SquidParser().parse(line)
    assert obs is not None
    assert obs.host == host and obs.client == str(ip)
    assert obs.ts == pytest.approx(seconds + millis / 1000)

"""Endpoint hosts are read as browsers read them (the WHATWG URL Standard), and none is lost.

The table's inputs and hosts are taken from the web-platform-tests URL data
(``url/resources/urltestdata.json``): what every conforming browser must make
of them. ``None`` means the standard says the URL fails to parse; such an
endpoint still becomes an event, judged by its raw value.
"""

from __future__ import annotations

import string

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract.event import normalise_host, parse_event
from streams.errors import ContractError
from tests.unit.detectors.factories import at, make_event

# (input, hostname): web-platform-tests urltestdata.json entries whose input is an
# absolute URL. IPv6 hosts are given without brackets and trailing dots dropped, as
# frtwatch stores them; the opaque hosts of non-special schemes are lower-cased.
WPT_HOSTS: list[tuple[str, str | None]] = [
    ("http://example\t.\norg", "example.org"),
    ("http://user:pass@foo:21/bar;par?b#c", "foo"),
    ("https://test:@test", "test"),
    ("http://f:00000000000000000000080/c", "f"),
    ("http://f:b/c", None),
    ("http://f:999999/c", None),
    ("http://a:b@c:29/d", "c"),
    ("http://::@c@d:2", "d"),
    ("http://foo.com:b@d/", "d"),
    ("http://foo.com/\\@", "foo.com"),
    ("http:a:@www.example.com", "www.example.com"),
    ("http:/a:@www.example.com", "www.example.com"),
    ("http://www.@pple.com", "pple.com"),
    ("http://@:www.example.com", None),
    ("http://ExAmPlE.CoM", "example.com"),
    ("http://example example.com", None),
    ("http://GOO\u00a0\u3000goo.com", None),
    ("http://GOO\u200b\u2060\ufeffgoo.com", "googoo.com"),
    ("\u0000\u001b\u0004\u0012 http://example.com/\u001f \u000d ", "example.com"),
    ("http://www.foo\u3002bar.com", "www.foo.bar.com"),
    ("http://\ufdd0zyx.com", None),
    ("http://%ef%b7%90zyx.com", None),
    ("http://[google.com]", None),
    ("http://\uff27\uff4f.com", "go.com"),
    ("http://\uff05\uff14\uff11.com", None),
    ("http://\u4f60\u597d\u4f60\u597d", "xn--6qqa088eba"),
    ("https://fa\u00df.ExAmPlE/", "xn--fa-hia.example"),
    ("sc://fa\u00df.ExAmPlE/", "fa%c3%9f.example"),
    ("http://%30%78%63%30%2e%30%32%35%30.01", "192.168.0.1"),
    ("http://%30%78%63%30%2e%30%32%35%30.01%2e", "192.168.0.1"),
    ("http://192.168.0.257", None),
    (
        "http://\uff10\uff38\uff43\uff10\uff0e\uff10\uff12\uff15\uff10\uff0e\uff10\uff11",
        "192.168.0.1",
    ),
    ("http://[www.google.com]/", None),
    ("http://[::1.2.3.]", None),
    ("https://@test@test@example:800/", "example"),
    ("http://1.2.3.4./", "1.2.3.4"),
    ("http://192.168.257", "192.168.1.1"),
    ("http://256.com", "256.com"),
    ("http://999999999", "59.154.201.255"),
    ("http://10000000000.com", "10000000000.com"),
    ("http://4294967296", None),
    ("http://0xffffffff", "255.255.255.255"),
    ("https://0x.0x.0", "0.0.0.0"),
    ("https://%43%7C/", None),
    ("http://[1:0::]", "1::"),
    ("https://[0::0::0]", None),
    ("http://f:4294967377/c", None),
    ("http://?", None),
    ("telnet://user:pass@foobar.com:23/", "foobar.com"),
    ("foo://ho\u0009st/", "host"),
]


@pytest.mark.parametrize(("endpoint", "host"), WPT_HOSTS, ids=repr)
def test_hosts_match_the_url_standard(endpoint, host):
    if host is None:
        with pytest.raises(ContractError, match="no valid host"):
            normalise_host(endpoint)
    else:
        assert normalise_host(endpoint) == host


def test_the_table_is_large_and_tricky():
    assert len(WPT_HOSTS) >= 30
    assert sum(host is None for _, host in WPT_HOSTS) >= 10


# Every way the audit found to hide a search of clearview.ai from the old parser.
DISGUISED = [
    "https://clearview.ai\\@frt.county.example.gov/",  # a browser reads '\' as '/'
    "https:/clearview.ai/x",  # one slash: the host, not 'https'
    "https://clearview%2eai/",  # percent-encoded dot
    "https://\uff43learview.ai/",  # full-width 'c'
    "https://clearview.ai\u3002/",  # ideographic full stop as the trailing dot
    "HTTPS://CLEARVIEW.AI:443/",
    "clearview.ai:443/search",  # a bare host with a port
    "//clearview.ai/x",
    "https:\\\\clearview.ai\\x",
    "https://frt.county.example.gov@clearview.ai/",
    "https://clearview.ai./",
    "https://clear\tview.ai/",
]


@pytest.mark.parametrize("endpoint", DISGUISED, ids=repr)
def test_disguised_prohibited_hosts_are_that_host(endpoint):
    assert normalise_host(endpoint) == "clearview.ai"


@pytest.mark.parametrize("endpoint", DISGUISED, ids=repr)
def test_disguised_prohibited_hosts_raise_a_critical_alert(run, endpoint):
    r = run()
    r.feed([make_event(at(0, 10), endpoint=endpoint)])
    (alert,) = r.of("prohibited_endpoint")
    assert alert.severity == "critical"
    assert alert.details["host"] == "clearview.ai"
    assert alert.details["endpoint"] == endpoint


@pytest.mark.parametrize(
    "endpoint", ["clearview.ai:443:1", "https://", "http://exa mple.com/", "file:///etc/x"]
)
def test_an_unparseable_endpoint_is_judged_as_unknown_with_its_raw_value(run, endpoint):
    raw = orjson.dumps(
        {"event_id": "e1", "ts": "2026-03-02T10:00:00Z", "agency": "MPD", "user": "u",
         "endpoint": endpoint}
    )  # fmt: skip
    event = parse_event(raw)  # not a dead letter
    assert event.host == endpoint
    r = run()
    r.feed([make_event(at(0, 10), endpoint=endpoint)])
    (alert,) = r.of("unknown_endpoint")
    assert alert.details["host"] == endpoint
    assert alert.details["endpoint"] == endpoint
    assert endpoint in alert.summary


def test_a_port_list_is_not_kept_as_a_host():
    with pytest.raises(ContractError):
        normalise_host("clearview.ai:443:1")


def test_ip_literals_in_every_notation_are_one_address():
    forms = ["http://127.0.0.1/", "http://0x7f.1/", "http://0177.0.0.1/", "http://2130706433/",
             "http://0x7f000001/", "127.1:8080", "http://%31%32%37.0.0.1/"]  # fmt: skip
    assert {normalise_host(f) for f in forms} == {"127.0.0.1"}
    six = ["http://[::1]/", "[0:0:0:0:0:0:0:1]:443", "http://[0::1]/"]
    assert {normalise_host(f) for f in six} == {"::1"}


_LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)


def _disguise(draw: st.DrawFn, host: str) -> str:
    """``host`` written in a way a browser still resolves to it."""
    chars = []
    for ch in host:
        choice = draw(st.integers(0, 4))
        if ch == ".":
            chars.append(draw(st.sampled_from([".", "\u3002", "\uff0e", "%2e", "%2E"])))
        elif choice == 0:
            chars.append(ch.upper())
        elif choice == 1 and ch.isalnum():
            chars.append(chr(ord(ch) - 0x20 + 0xFF00 if ch.isalpha() else ord(ch) + 0xFEE0))
        elif choice == 2:
            chars.append(f"%{ord(ch):02x}")
        else:
            chars.append(ch)
    written = "".join(chars)
    prefix = draw(st.sampled_from(["https://", "http://", "https:/", "https:\\\\", "HTTPS://",
                                    "//", "", " https://"]))  # fmt: skip
    user = draw(st.sampled_from(["", "analyst@", "frt.county.example.gov@", "a:b@"]))
    port = draw(st.sampled_from(["", ":443", ":8443", ":"]))
    dot = draw(st.sampled_from(["", "."]))
    tail = draw(st.sampled_from(["", "/", "/search?q=1", "\\x", "#frag", "?a=b"]))
    return f"{prefix}{user}{written}{dot}{port}{tail}"


@st.composite
def disguised_hosts(draw: st.DrawFn) -> tuple[str, str]:
    labels = draw(st.lists(_LABEL, min_size=1, max_size=3))
    # Hosts that are not IPv4 numbers and not punycode (those have their own tests).
    host = ".".join(["x" + label for label in labels] + ["clearview", "ai"])
    return host, _disguise(draw, host)


@settings(max_examples=400, deadline=None)
@given(disguised_hosts())
def test_fuzz_disguised_hosts_come_back_as_the_host(case):
    host, endpoint = case
    assert normalise_host(endpoint) == host


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_fuzz_any_endpoint_string_becomes_an_event(endpoint):
    raw = orjson.dumps(
        {"event_id": "e1", "ts": "2026-03-02T10:00:00Z", "agency": "MPD", "user": "u",
         "endpoint": endpoint}
    )  # fmt: skip
    event = parse_event(raw)
    assert event.host
    try:
        host = normalise_host(endpoint)
    except ContractError:
        assert event.host == endpoint
    else:
        assert event.host == host == host.lower()
        assert not host.endswith(".")

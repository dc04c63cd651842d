"""CEF: the samples over RFC 5424 and RFC 3164, escaping by the specification, fuzzing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sources.cef import CefParser, cef_time, parse_cef
from streams.sources.records import Observation, ParseError
from tests.conftest import FILES

CEF = FILES / "sources" / "cef"


def read(name: str) -> list[object]:
    parser = CefParser(syslog_year=2026)
    out: list[object] = []
    for line in (CEF / name).read_text(encoding="utf-8").splitlines():
        try:
            out.append(parser.parse(line))
        except ParseError as exc:
            out.append(exc.reason)
    return out


def test_rfc5424_samples():
    results = read("rfc5424.log")
    first = results[0]
    assert isinstance(first, Observation)
    assert (first.ts, first.host, first.client, first.user, first.sensor) == (
        1772442600.0, "pimeyes.com", "10.10.0.11", "mpd-0001", "cef:Acme Secure Web Gateway",
    )  # fmt: skip
    assert first.endpoint == "https://pimeyes.com/en/upload"
    assert dict(first.extra)["syslog_host"] == "proxy-1.mpd.example"
    assert results[1].host == "frt.county.example.gov" and results[1].ts == 1772442660.0
    assert results[3].host == "app.clearview.ai" and results[3].ts == 1772442720.25
    assert dict(results[3].extra)["cef_name"] == "Web|request"
    assert results[2] == "no event time: no rt, end or start, and no syslog timestamp"
    assert results[4:] == [
        "CEF header has 7 of 8 '|'-separated parts",
        "CEF severity '11' is not 0-10 or a severity word",
        "CEF extension key 'src' appears twice",
        "syslog priority 999 is above 191",
        "no CEF record in the syslog message",
        "RFC 5424 timestamp '2026-03-02' is not RFC 3339",
    ]


def test_rfc3164_samples():
    results = read("rfc3164.log")
    assert [r.host if isinstance(r, Observation) else r for r in results] == [
        "facecheck.id",
        "frt.county.example.gov",
        "findclone.ru",
        "search4faces.com",
        "RFC 3164 timestamp is not a date",
        "CEF src '10.20.0.777' is not an IP address",
        "invalid escape '\\x' in the CEF header",
        "CEF extension does not start with key=value",
    ]
    assert results[0].ts == 1772443200.0 and results[0].user == "cso-0001"
    assert results[2].ts == 1772443350.0, "rt wins over the syslog time"


def test_extension_escapes_and_stray_backslashes():
    rec = parse_cef(r"CEF:0|V\|x|P\\y|1|2|n|Low|msg=a\=b\\c\nd path=C:\tmp cs1=x y=z")
    assert (rec.vendor, rec.product, rec.severity) == ("V|x", "P\\y", "Low")
    assert rec.extension == {"msg": "a=b\\c\nd", "path": "C:\\tmp", "cs1": "x", "y": "z"}


def test_cef_times():
    assert cef_time("Mar 02 2026 09:00:00") == 1772442000.0
    for bad in ("2026-03-02", "Foo 02 2026 09:00:00", "Feb 30 2026 09:00:00"):
        try:
            cef_time(bad)
        except ParseError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def escape_header(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def escape_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")


field_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
values = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=12)
keys = st.from_regex(r"[a-z][A-Za-z0-9]{0,8}", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(st.lists(field_text, min_size=5, max_size=5), st.dictionaries(keys, values, max_size=5))
def test_fuzz_escaped_records_read_back_exactly(header, extension):
    vendor, product, version, event_class, name = header
    text = (
        "CEF:0|"
        + "|".join(escape_header(h) for h in header)
        + "|5|"
        + " ".join(f"{k}={escape_value(v)}" for k, v in extension.items())
    )
    record = parse_cef(text)
    assert (record.vendor, record.product, record.device_version, record.event_class, record.name) == (
        vendor, product, version, event_class, name,
    )  # fmt: skip
    assert record.extension == extension


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_line_is_an_observation_or_a_parse_error(line):
    try:
        result = CefParser(2026).parse(line)
    except ParseError as exc:
        assert exc.reason
    else:
        assert result is None or isinstance(result, Observation)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_cef_after_a_valid_prefix(tail):
    try:
        result = CefParser(2026).parse("<14>Mar  2 09:20:00 gw CEF:0|A|B|1|2|n|3|" + tail)
    except ParseError as exc:
        assert exc.reason
    else:
        assert isinstance(result, Observation)

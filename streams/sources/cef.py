"""ArcSight Common Event Format (CEF), bare or over syslog (RFC 5424 or RFC 3164).

A CEF record is seven ``|``-separated header fields and an extension of ``key=value``
pairs (the CEF specification, "Implementing ArcSight CEF")::

    CEF:0|Vendor|Product|1.0|100|Web request|3|src=10.10.0.11 suser=jdoe request=https://pimeyes.com/en rt=1772442000000

In the header ``\\|`` and ``\\\\`` are escapes and any other backslash is an error; in
extension values ``\\=``, ``\\\\``, ``\\n`` and ``\\r`` are. A value runs to the next
unescaped ``key=``. The only PyPI parser (pycef) is a regex that has not been released
since 2020 and accepts malformed headers, so this is a small strict reader.

The request is ``request`` (a URL), else ``dhost``; the client ``src``; the user
``suser``; the time ``rt`` (or ``end``, ``start``), else the syslog header's.

>>> rec = parse_cef(r"CEF:0|Acme|Proxy|1.0|100|req|3|src=10.1.2.3 msg=a\\=b c request=https://x.example/")
>>> rec.vendor, rec.extension["msg"], rec.extension["request"]
('Acme', 'a=b c', 'https://x.example/')
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.sources.records import Observation, ParseError, host_of
from streams.sources.syslog import parse_syslog

_KEY = re.compile(r"(?<!\S)([A-Za-z0-9_.\[\]]{1,64})=")
_HEADER_ESCAPE = re.compile(r"\\(.)")
_VALUE_ESCAPES = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
_SEVERITY_WORDS = {"unknown", "low", "medium", "high", "very-high"}
_CEF_TIME = re.compile(r"([A-Z][a-z]{2} \d{2} \d{4} \d{2}:\d{2}:\d{2})(\.\d{3})?")
MAX_EXTENSION_KEYS = 256


@dataclass(frozen=True, slots=True)
class CefRecord:
    version: int
    vendor: str
    product: str
    device_version: str
    event_class: str
    name: str
    severity: str
    extension: dict[str, str]


def _split_header(text: str) -> tuple[list[str], str]:
    """The seven header fields (unescaped) and the raw extension."""
    parts = text.split("|", 7)
    if len(parts) == 8 and not any("\\" in part for part in parts[:7]):
        return parts[:7], parts[7]  # no escapes in the header: the common case
    fields: list[str] = []
    current: list[str] = []
    index = 0
    while len(fields) < 7:
        if index >= len(text):
            raise ParseError(f"CEF header has {len(fields) + 1} of 8 '|'-separated parts")
        char = text[index]
        if char == "\\":
            nxt = text[index + 1 : index + 2]
            if nxt not in ("|", "\\"):
                raise ParseError(f"invalid escape '\\{nxt}' in the CEF header")
            current.append(nxt)
            index += 2
            continue
        if char == "|":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    return fields, text[index:]


def _unescape_value(value: str) -> str:
    if "\\" not in value:
        return value
    out: list[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value) and value[index + 1] in _VALUE_ESCAPES:
            out.append(_VALUE_ESCAPES[value[index + 1]])
            index += 2
            continue
        out.append(char)  # a stray backslash (C:\path) is kept, as ArcSight keeps it
        index += 1
    return "".join(out)


def _extension(text: str) -> dict[str, str]:
    text = text.strip(" ")
    if not text:
        return {}
    keys = list(_KEY.finditer(text))
    if not keys or keys[0].start() != 0:
        raise ParseError("CEF extension does not start with key=value")
    if len(keys) > MAX_EXTENSION_KEYS:
        raise ParseError(f"CEF extension has more than {MAX_EXTENSION_KEYS} keys")
    out: dict[str, str] = {}
    for this, nxt in zip(keys, [*keys[1:], None], strict=True):
        end = nxt.start() if nxt is not None else len(text)
        key = this.group(1)
        if key in out:
            raise ParseError(f"CEF extension key {key!r} appears twice")
        out[key] = _unescape_value(text[this.end() : end].rstrip(" "))
    return out


def parse_cef(message: str) -> CefRecord:
    """A CEF message (starting at ``CEF:``) as its header fields and extension."""
    if not message.startswith("CEF:"):
        raise ParseError("message does not start with 'CEF:'")
    fields, rest = _split_header(message[4:])
    version, vendor, product, device_version, event_class, name, severity = fields
    if version not in ("0", "1"):
        raise ParseError(f"CEF version {version[:10]!r} is not 0 or 1")
    if not (severity.isdigit() and int(severity) <= 10) and severity.lower() not in _SEVERITY_WORDS:
        raise ParseError(f"CEF severity {severity[:20]!r} is not 0-10 or a severity word")
    if not vendor or not product:
        raise ParseError("CEF device vendor and product must not be empty")
    return CefRecord(
        int(version), vendor, product, device_version, event_class, name, severity, _extension(rest)
    )


def cef_time(value: str) -> float:
    """A CEF time: epoch milliseconds or ``MMM dd yyyy HH:mm:ss[.SSS]`` (UTC).

    >>> cef_time("1772442000000"), cef_time("Mar 02 2026 09:00:00.500")
    (1772442000.0, 1772442000.5)
    """
    if value.isdigit() and len(value) <= 15:
        return int(value) / 1000
    match = _CEF_TIME.fullmatch(value.strip())
    if match is None:
        raise ParseError(f"CEF time {value[:40]!r} is neither epoch ms nor 'MMM dd yyyy HH:mm:ss'")
    try:
        stamp = datetime.strptime(match.group(1), "%b %d %Y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise ParseError(f"CEF time {value[:40]!r} is not a date") from None
    return stamp.timestamp() + (float(match.group(2)) if match.group(2) else 0.0)


class CefParser:
    """CEF records, bare or in RFC 5424 / RFC 3164 syslog framing, to observations."""

    name = "cef"

    def __init__(self, syslog_year: int | None = None) -> None:
        self.syslog_year = syslog_year

    def parse(self, line: str) -> Observation | None:
        if not line.strip():
            return None
        framed = parse_syslog(line, self.syslog_year)
        start = framed.message.find("CEF:")
        if start < 0:
            raise ParseError("no CEF record in the syslog message")
        record = parse_cef(framed.message[start:])
        ext = record.extension
        ts: float | None = None
        for key in ("rt", "end", "start"):
            if ext.get(key):
                ts = cef_time(ext[key])
                break
        if ts is None:
            ts = framed.ts
        if ts is None:
            raise ParseError("no event time: no rt, end or start, and no syslog timestamp")
        endpoint = ext.get("request") or ext.get("dhost") or ""
        host = host_of(endpoint) if endpoint else ""
        client = ext.get("src") or None
        if client is not None:
            try:
                client = str(ipaddress.ip_address(client))
            except ValueError:
                raise ParseError(f"CEF src {client[:64]!r} is not an IP address") from None
        sensor = f"cef:{record.vendor} {record.product}"[:128]
        extra: list[tuple[str, str | int]] = [("cef_name", record.name[:256])]
        if framed.hostname:
            extra.append(("syslog_host", framed.hostname[:255]))
        if ext.get("act"):
            extra.append(("proxy_result", ext["act"][:64]))
        return Observation(
            ts, host, endpoint[:2048], client, ext.get("suser") or None, sensor, tuple(extra)
        )

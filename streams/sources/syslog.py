"""Syslog framing: RFC 5424 and RFC 3164 (BSD) headers in front of a message.

Only the framing is read here (priority, timestamp, host name, the message); the
message itself (CEF) is :mod:`streams.sources.cef`'s. The Python syslog parsers on
PyPI are unmaintained or read only one of the two framings, so this is a small strict
reader of both, plus RFC 6587 octet counting (``123 <134>1 ...``) as TCP relays write it.

RFC 3164 timestamps have neither a year nor a zone: the year is given by the caller
(``--syslog-year``; by default the current one, or the last one for a date more than a
day ahead of now) and the zone is UTC.

>>> m = parse_syslog("<134>1 2026-03-02T09:10:00.250Z proxy1 squid - - - CEF:0|x")
>>> m.ts, m.hostname, m.message
(1772442600.25, 'proxy1', 'CEF:0|x')
>>> parse_syslog("<13>Mar  2 09:10:00 proxy1 CEF:0|x", year=2026).ts
1772442600.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.sources.records import ParseError

_OCTETS = re.compile(r"(\d{1,6}) (?=<)")
_PRI = re.compile(r"<(\d{1,3})>")
_RFC5424 = re.compile(
    r"1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<proc>\S+) (?P<msgid>\S+) (?P<rest>.*)",
    re.DOTALL,
)
_RFC3164 = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?P<time>\d{2}:\d{2}:\d{2}) (?P<host>\S+) ?(?P<rest>.*)",
    re.DOTALL,
)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """A syslog record's header facts and its message."""

    priority: int | None
    ts: float | None
    hostname: str | None
    message: str


def _structured_data_end(text: str) -> int:
    """Where RFC 5424 STRUCTURED-DATA ends in ``text`` (``-`` or ``[...]`` elements)."""
    if text.startswith("-"):
        return 1
    index = 0
    if not text.startswith("["):
        raise ParseError("RFC 5424 structured data must be '-' or start with '['")
    while index < len(text) and text[index] == "[":
        index += 1
        quoted = False
        while True:
            if index >= len(text):
                raise ParseError("RFC 5424 structured data is not closed")
            char = text[index]
            if quoted and char == "\\":
                index += 2
                continue
            if char == '"':
                quoted = not quoted
            elif char == "]" and not quoted:
                index += 1
                break
            index += 1
    return index


def parse_syslog(line: str, year: int | None = None) -> SyslogMessage:
    """The framing of one syslog line (RFC 5424, RFC 3164, or none: a bare message)."""
    counted = _OCTETS.match(line)
    if counted:
        line = line[counted.end() :]
    pri = _PRI.match(line)
    if pri is None:
        return SyslogMessage(None, None, None, line)
    priority = int(pri.group(1))
    if priority > 191:
        raise ParseError(f"syslog priority {priority} is above 191")
    body = line[pri.end() :]
    rfc5424 = _RFC5424.fullmatch(body)
    if rfc5424:
        stamp = rfc5424["ts"]
        ts = None
        if stamp != "-":
            if not _RFC3339.fullmatch(stamp):
                raise ParseError(f"RFC 5424 timestamp {stamp[:40]!r} is not RFC 3339")
            try:
                ts = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise ParseError(f"RFC 5424 timestamp {stamp[:40]!r} is not a date") from None
        rest = rfc5424["rest"]
        end = _structured_data_end(rest)
        message = rest[end:]
        if message and not message.startswith(" "):
            raise ParseError("RFC 5424 message must follow the structured data after a space")
        message = message[1:].removeprefix("\ufeff")
        host = rfc5424["host"]
        return SyslogMessage(priority, ts, None if host == "-" else host, message)
    rfc3164 = _RFC3164.fullmatch(body)
    if rfc3164:
        month = _MONTHS.get(rfc3164["mon"])
        if month is None:
            raise ParseError(f"RFC 3164 month {rfc3164['mon']!r} is not a month")
        hour, minute, second = (int(x) for x in rfc3164["time"].split(":"))
        now = datetime.now(UTC)
        try:
            stamp = datetime(
                year or now.year, month, int(rfc3164["day"]), hour, minute, second, tzinfo=UTC
            )
            if year is None and (stamp - now).days >= 1:
                # December's records read in January: a date ahead of now is last year's
                stamp = stamp.replace(year=now.year - 1)
        except ValueError:
            raise ParseError("RFC 3164 timestamp is not a date") from None
        return SyslogMessage(priority, stamp.timestamp(), rfc3164["host"], rfc3164["rest"])
    raise ParseError("syslog header is neither RFC 5424 nor RFC 3164")

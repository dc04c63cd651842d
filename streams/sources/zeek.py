"""Zeek's ``http.log``, ``ssl.log`` and ``dns.log``, in JSON and in TSV.

JSON logs (``LogAscii::use_json=T``, or the Kafka plugin, which may wrap a record as
``{"ssl": {...}}``) are one object per line. TSV logs describe themselves in ``#``
header lines (separator, unset and empty markers, ``#fields``, ``#types``);
:mod:`parsezeeklogs` reads those headers and converts cells by their Zeek type. The
header state lives in the parser, so a rotated or concatenated log that repeats its
header mid-stream is read correctly, and so is ``tail -F``.

The host each log names: ``ssl`` the TLS server name (SNI), ``http`` the ``Host``
header, ``dns`` the query. The client is ``id.orig_h``.

>>> p = ZeekParser("ssl")
>>> p.parse('{"ts":1772442000.5,"id.orig_h":"10.20.0.7","server_name":"FaceCheck.ID"}').host
'facecheck.id'
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

import orjson
from parsezeeklogs import ZeekHeader
from parsezeeklogs.reader import convert_value

from streams.sources.records import Observation, ParseError, host_of

LOGS = ("http", "ssl", "dns")
_NEEDS = {
    "http": ("ts", "id.orig_h", "host"),
    "ssl": ("ts", "id.orig_h", "server_name"),
    "dns": ("ts", "id.orig_h", "query"),
}


def _time(value: Any) -> float:
    """Zeek's ``ts``: epoch seconds, or ISO 8601 (``JSON::TS_ISO8601``)."""
    if isinstance(value, bool):
        raise ParseError("'ts' is not a time")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ParseError(f"'ts' {value[:40]!r} is not a time") from None
        if stamp.tzinfo is None:
            raise ParseError(f"'ts' {value[:40]!r} has no time zone")
        return stamp.timestamp()
    raise ParseError("'ts' is missing or not a time")


def _field(record: dict[str, Any], name: str) -> Any:
    """A dotted Zeek field, flat (``id.orig_h``) or nested (``{"id": {"orig_h": ...}}``)."""
    if name in record:
        return record[name]
    head, _, rest = name.partition(".")
    inner = record.get(head)
    if rest and isinstance(inner, dict):
        return inner.get(rest)
    return None


class ZeekParser:
    """Lines of one Zeek log (``http``, ``ssl`` or ``dns``), JSON or TSV."""

    def __init__(self, log: str) -> None:
        if log not in LOGS:
            raise ValueError(f"unknown Zeek log {log!r}")
        self.log = log
        self.name = f"zeek-{log}"
        self._header: ZeekHeader | None = None
        self._wrong: str | None = None

    def parse(self, line: str) -> Observation | None:
        if not line.strip():
            return None
        if line.startswith("#"):
            self._header_line(line)
            return None
        if self._wrong is not None:
            raise ParseError(self._wrong)
        if line.lstrip()[:1] in ("{", "["):
            record = self._json(line)
            # One topic may carry every log, each record tagged with its own: another
            # log's records are not this reader's, and are counted as skipped.
            return self._observe(record) if record is not None else None
        return self._observe(self._tsv(line))

    def _header_line(self, line: str) -> None:
        if line.startswith("#separator"):
            self._header = ZeekHeader()  # a new header block starts
            self._wrong = None
        header = self._header or ZeekHeader()
        self._header = header
        header.apply(line)
        if line.startswith(f"#path{header.separator}") and header.path not in (self.log, None):
            self._wrong = f"this is Zeek's {header.path[:40]!r} log (#path), not {self.log!r}"

    def _json(self, line: str) -> dict[str, Any] | None:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"not valid JSON: {exc}") from None
        if not isinstance(record, dict):
            raise ParseError("JSON record is not an object")
        if len(record) == 1:  # the Kafka plugin's tagged form {"ssl": {...}}
            ((tag, inner),) = record.items()
            if isinstance(inner, dict):
                if tag != self.log:
                    return None
                record = inner
        return record

    def _tsv(self, line: str) -> dict[str, Any]:
        header = self._header
        if header is None or not header.fields:
            raise ParseError("TSV record before any #fields header")
        if len(header.types) != len(header.fields):
            raise ParseError("#fields and #types headers disagree in length")
        cells = line.split(header.separator)
        if len(cells) != len(header.fields):
            raise ParseError(f"expected {len(header.fields)} columns, found {len(cells)}")
        record: dict[str, Any] = {}
        for name, ztype, cell in zip(header.fields, header.types, cells, strict=True):
            try:
                record[name] = convert_value(cell, ztype, header, "epoch")
            except ValueError:
                raise ParseError(f"column {name[:40]!r} is not a valid {ztype[:40]}") from None
        return record

    def _observe(self, record: dict[str, Any]) -> Observation:
        ts = _time(record.get("ts"))
        client = _field(record, "id.orig_h")
        if not isinstance(client, str):
            raise ParseError("'id.orig_h' is missing or not an address")
        try:
            client = str(ipaddress.ip_address(client))
        except ValueError:
            raise ParseError(f"'id.orig_h' {client[:64]!r} is not an IP address") from None
        named = _field(record, _NEEDS[self.log][2])
        if named is not None and not isinstance(named, str):
            raise ParseError(f"{_NEEDS[self.log][2]!r} is not text")
        extra: list[tuple[str, str | int]] = []
        if isinstance(record.get("uid"), str):
            extra.append(("zeek_uid", record["uid"][:64]))
        if not named:  # a TLS connection without SNI, a request without Host: no host
            return Observation(ts, "", "", client, extra=tuple(extra))
        host = host_of(named)
        if self.log == "http":
            uri = record.get("uri")
            path = uri if isinstance(uri, str) and uri.startswith("/") else "/"
            endpoint = f"http://{named}{path}"[:2048]
            if isinstance(record.get("method"), str):
                extra.append(("http_method", record["method"][:32]))
        else:
            endpoint = named
            if self.log == "dns" and isinstance(record.get("qtype_name"), str):
                extra.append(("dns_qtype", record["qtype_name"][:16]))
        return Observation(ts, host, endpoint, client, extra=tuple(extra))

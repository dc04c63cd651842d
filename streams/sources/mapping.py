"""The generic reader: vendor audit exports (CSV or JSON lines) through a mapping file.

An approved FRT system's audit export already records searches, with its own field
names. A mapping file (``config/mappings/*.yaml``) says where each ``frt.search.v1``
field comes from: a ``path`` into the record (a CSV column name, or a dotted path into
a JSON object, with numbers indexing lists) or a ``const``; ``ts`` takes a ``format``
(``rfc3339``, ``epoch``, ``epoch_ms`` or a ``strptime`` pattern) and a ``timezone``
for times written without one; ``result_count`` takes ``type: int``; ``default`` fills
an empty value. ``extra`` copies more fields into the event. Every error in the
mapping is reported as ``file:line: message``.

Each mapped record is one search: it is neither filtered nor grouped, and its
``event_id`` is the record's own id field when mapped (prefixed by ``source``), a hash
of the record otherwise.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import yaml

from streams.contract.event import parse_timestamp
from streams.errors import ContractError
from streams.policy.loader import YamlContext, compose_yaml, raise_errors
from streams.sources.records import MAX_LINE_BYTES, ParseError, checked_time

FORMATS = ("csv", "jsonl")
EVENT_FIELDS = (
    "event_id", "ts", "agency", "user", "endpoint", "on_behalf_of", "case_number",
    "purpose", "probe_sha256", "result_count",
)  # fmt: skip
REQUIRED = ("ts", "agency", "user", "endpoint")
_SPEC_KEYS = {"path", "const", "default", "format", "timezone", "type"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_RECORD_LINES = 64


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: tuple[str, ...] | None
    const: Any = None
    default: Any = None
    time_format: str = "rfc3339"
    timezone: Any = UTC
    as_int: bool = False


@dataclass(frozen=True, slots=True)
class Mapping:
    source_path: Path
    format: str
    source: str
    fields: dict[str, FieldSpec]
    extra: dict[str, FieldSpec]
    delimiter: str = ","
    columns: tuple[str, ...] | None = None


def _spec(ctx: YamlContext, node: yaml.Node, where: str, is_ts: bool, fmt: str) -> FieldSpec | None:
    fields = ctx.mapping(node, where, _SPEC_KEYS)
    if not isinstance(node, yaml.MappingNode):
        return None
    if ("path" in fields) == ("const" in fields):
        ctx.error(node, f"{where}: give exactly one of 'path' and 'const'")
        return None
    path = None
    const = default = None
    if "path" in fields:
        text = ctx.string(fields["path"][1], f"{where}.path")
        if text is None:
            return None
        path = (text,) if fmt == "csv" else tuple(text.split("."))
    if "const" in fields:
        const = ctx.scalar(fields["const"][1], f"{where}.const")
    if "default" in fields:
        default = ctx.scalar(fields["default"][1], f"{where}.default")
    time_format = "rfc3339"
    zone: tzinfo = UTC
    if "format" in fields or "timezone" in fields:
        if not is_ts:
            ctx.error(node, f"{where}: 'format' and 'timezone' apply to ts only")
        if "format" in fields:
            time_format = ctx.string(fields["format"][1], f"{where}.format") or "rfc3339"
            if time_format not in ("rfc3339", "epoch", "epoch_ms") and "%" not in time_format:
                ctx.error(
                    fields["format"][1],
                    f"{where}.format: {time_format!r} is not rfc3339, epoch, epoch_ms or a strptime pattern",
                )
        if "timezone" in fields:
            name = ctx.string(fields["timezone"][1], f"{where}.timezone")
            try:
                zone = ZoneInfo(name) if name else UTC
            except (ZoneInfoNotFoundError, ValueError):
                ctx.error(fields["timezone"][1], f"{where}.timezone: unknown time zone {name!r}")
    as_int = False
    if "type" in fields:
        kind = ctx.string(fields["type"][1], f"{where}.type")
        if kind not in ("int", "string"):
            ctx.error(fields["type"][1], f"{where}.type: must be int or string")
        as_int = kind == "int"
    return FieldSpec(path, const, default, time_format, zone, as_int)


def load_mapping(path: str | Path) -> Mapping:
    """Load and validate a mapping file; :class:`ConfigError` lists every ``file:line``."""
    path = Path(path)
    root, ctx = compose_yaml(path, "mapping")
    top = ctx.mapping(root, "mapping", {"version", "format", "source", "csv", "fields", "extra"})
    if "version" not in top:
        ctx.error(root, "mapping: missing key 'version' (write 'version: 1')")
    elif ctx.scalar(top["version"][1], "version") != 1:
        ctx.error(top["version"][1], "version: only version 1 is understood")
    fmt = "csv"
    if "format" not in top:
        ctx.error(root, "mapping: missing key 'format' (csv or jsonl)")
    else:
        fmt = ctx.string(top["format"][1], "format") or "csv"
        if fmt not in FORMATS:
            ctx.error(top["format"][1], f"format: {fmt!r} is not csv or jsonl")
            fmt = "csv"
    source = "audit-log"
    if "source" in top:
        source = ctx.string(top["source"][1], "source") or source
        if len(source) > 64:
            ctx.error(top["source"][1], "source: at most 64 characters")
    delimiter, columns = ",", None
    if "csv" in top:
        if fmt != "csv":
            ctx.error(top["csv"][0], "csv: only for format csv")
        opts = ctx.mapping(top["csv"][1], "csv", {"delimiter", "columns"})
        if "delimiter" in opts:
            delimiter = ctx.string(opts["delimiter"][1], "csv.delimiter") or ","
            if len(delimiter) != 1:
                ctx.error(opts["delimiter"][1], "csv.delimiter: must be one character")
                delimiter = ","
        if "columns" in opts:
            columns = tuple(ctx.strings(opts["columns"][1], "csv.columns"))
    fields: dict[str, FieldSpec] = {}
    if "fields" not in top:
        ctx.error(root, "mapping: missing key 'fields'")
    else:
        entries = ctx.mapping(top["fields"][1], "fields", set(EVENT_FIELDS))
        for name in REQUIRED:
            if name not in entries and isinstance(top["fields"][1], yaml.MappingNode):
                ctx.error(top["fields"][1], f"fields: missing {name!r}")
        for name, (_, node) in entries.items():
            spec = _spec(ctx, node, f"fields.{name}", name == "ts", fmt)
            if spec is not None:
                fields[name] = spec
    extra: dict[str, FieldSpec] = {}
    if "extra" in top:
        for name, (key_node, node) in ctx.mapping(top["extra"][1], "extra").items():
            if not _NAME.fullmatch(name) or name in EVENT_FIELDS or name == "source":
                ctx.error(key_node, f"extra: {name!r} is not a free field name")
                continue
            spec = _spec(ctx, node, f"extra.{name}", False, fmt)
            if spec is not None:
                extra[name] = spec
    raise_errors(ctx)
    return Mapping(path, fmt, source, fields, extra, delimiter, columns)


def format_ts(ts: float) -> str:
    """UTC RFC 3339 with milliseconds, as every event ingest writes.

    >>> format_ts(1772442000.25)
    '2026-03-02T09:00:00.250Z'
    """
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _lookup(record: Any, path: tuple[str, ...]) -> Any:
    value = record
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _time(value: Any, spec: FieldSpec) -> float:
    fmt = spec.time_format
    if fmt in ("epoch", "epoch_ms"):
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number != number or abs(number) > 1e14:
            raise ParseError(f"time {str(value)[:40]!r} is not a number")
        return number / 1000 if fmt == "epoch_ms" else number
    if not isinstance(value, str):
        raise ParseError(f"time {str(value)[:40]!r} is not text")
    if fmt == "rfc3339":
        try:
            return parse_timestamp(value.strip())
        except ContractError as exc:
            raise ParseError(exc.reason) from None
    try:
        stamp = datetime.strptime(value.strip(), fmt)
    except ValueError:
        raise ParseError(f"time {value[:40]!r} does not match {fmt!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=spec.timezone)
    try:
        return stamp.timestamp()
    except (OverflowError, OSError, ValueError):
        raise ParseError(f"time {value[:40]!r} is out of range") from None


def _value(record: Any, name: str, spec: FieldSpec) -> Any:
    value = spec.const if spec.path is None else _lookup(record, spec.path)
    if value is None or (isinstance(value, str) and not value.strip()):
        value = spec.default
    if value is None:
        return None
    if name == "ts":
        return format_ts(checked_time(_time(value, spec)))
    if spec.as_int or name == "result_count":
        if isinstance(value, bool):
            raise ParseError(f"{name} {value!r} is not a whole number")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ParseError(f"{name} {str(value)[:40]!r} is not a whole number") from None
    if isinstance(value, dict | list):
        raise ParseError(f"{name} is an object or a list, not a value")
    return value if isinstance(value, str) else str(value)


def map_record(mapping: Mapping, record: Any) -> dict[str, Any]:
    """The event fields of one decoded record (not yet validated as ``frt.search.v1``)."""
    event: dict[str, Any] = {}
    for name, spec in mapping.fields.items():
        value = _value(record, name, spec)
        if value is None:
            if name in REQUIRED:
                where = spec.path and ".".join(spec.path)
                raise ParseError(f"no value for {name} (from {where!r})")
            continue
        event[name] = value
    for name, spec in mapping.extra.items():
        value = _value(record, name, spec)
        if value is not None:
            event[name] = value
    event["source"] = mapping.source
    return event


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class MappedReader:
    """Records of one export: ``read`` yields ``(raw bytes, line number, record or ParseError)``."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.name = "mapped"

    def read(self, lines: Iterator[tuple[bytes, Any]]) -> Iterator[tuple[bytes, Any, Any]]:
        if self.mapping.format == "jsonl":
            yield from self._jsonl(lines)
        else:
            yield from self._csv(lines)

    def _jsonl(self, lines: Iterator[tuple[bytes, Any]]) -> Iterator[tuple[bytes, Any, Any]]:
        for raw, number in lines:
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                yield raw, number, ParseError(f"record is more than {MAX_LINE_BYTES} bytes")
                continue
            try:
                yield raw, number, orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield raw, number, ParseError(f"not valid UTF-8 JSON: {exc}")

    def _csv(self, lines: Iterator[tuple[bytes, Any]]) -> Iterator[tuple[bytes, Any, Any]]:
        """CSV rows; a quoted value may span lines, so a row's raw bytes are the lines it took."""
        taken: list[bytes] = []
        failures: list[tuple[bytes, int, ParseError]] = []
        first_line: list[Any] = [None]

        def text_lines() -> Iterator[str]:
            for raw, number in lines:
                if not taken:
                    first_line[0] = number
                if len(raw) > MAX_LINE_BYTES or len(taken) >= MAX_RECORD_LINES:
                    failures.append((raw, number, ParseError("CSV record is too long")))
                    taken.clear()
                    yield "\n"
                    continue
                # Undecodable bytes are carried through (surrogateescape) and the row that
                # holds them is refused whole, so a dead letter keeps every line of its record.
                text = raw.decode("utf-8", "surrogateescape")
                taken.append(raw)
                yield text if text.endswith("\n") else text + "\n"

        columns = list(self.mapping.columns) if self.mapping.columns else None
        reader = csv.reader(text_lines(), delimiter=self.mapping.delimiter, strict=True)
        while True:
            error: ParseError | None = None
            try:
                row = next(reader)
            except StopIteration:
                yield from failures
                return
            except csv.Error as exc:
                row, error = [], ParseError(f"not valid CSV: {exc}")
            yield from failures
            failures.clear()
            if error is not None:
                yield b"\n".join(taken), first_line[0], error
                taken.clear()
                continue
            raw = b"\n".join(taken).rstrip(b"\r\n")
            number = first_line[0]
            taken.clear()
            if not row or not any(cell.strip() for cell in row):
                continue
            if any(_has_surrogates(cell) for cell in row):
                yield raw, number, ParseError("not UTF-8 text")
                continue
            if columns is None:
                columns = [cell.strip().lstrip("\ufeff") for cell in row]
                continue
            if len(row) != len(columns):
                yield raw, number, ParseError(f"expected {len(columns)} columns, found {len(row)}")
                continue
            yield raw, number, dict(zip(columns, row, strict=True))

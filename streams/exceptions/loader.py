"""The policy-side exceptions file: every bad entry reported as ``file:line: message``.

The policy names it as ``exceptions.file`` (optional); ``frtwatch exceptions load
FILE`` publishes one to the exceptions topic. Format (``config/exceptions.example.yaml``)::

    version: 1
    exceptions:
      - scope: user            # or agency (then no user)
        agency: MPD
        user: u1
        detector: prohibited_endpoint
        subject: trial.vendor.example   # or "*"; subject-less detectors take "*" only
        from: 2026-03-01       # a date (UTC) or an RFC 3339 timestamp with offset
        until: 2026-06-30      # a date is included: in force to the end of that day
        reason: this unit tests the vendor trial host
        author: j.smith        # optional

Errors are collected for every entry and raised together as one
:class:`~streams.errors.ConfigError`, as the policy loader does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from streams.errors import ConfigError
from streams.exceptions.record import FIELDS, ExceptionRecord, make_exception
from streams.policy.loader import YamlContext, compose_yaml, raise_errors

_REQUIRED = ("scope", "agency", "detector", "from", "until", "reason")


def load_exceptions_file(path: str | Path) -> tuple[ExceptionRecord, ...]:
    """Every exception in ``path``; a :class:`ConfigError` listing every bad entry."""
    path = Path(path)
    root, ctx = compose_yaml(path, "exceptions")
    records = parse_exceptions(ctx, root)
    raise_errors(ctx)
    return records


def parse_exceptions(ctx: YamlContext, root: yaml.Node) -> tuple[ExceptionRecord, ...]:
    """The exceptions of a composed file; errors go to ``ctx``."""
    top = ctx.mapping(root, "exceptions file", {"version", "exceptions"})
    if "version" in top:
        version = ctx.scalar(top["version"][1], "version")
        if version != 1:
            ctx.error(top["version"][1], f"version: only version 1 is known, got {version!r}")
    if "exceptions" not in top:
        ctx.error(root, "missing key 'exceptions' (a list of exceptions)")
        return ()
    node = top["exceptions"][1]
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        return ()  # "exceptions:" with nothing under it: none
    if not isinstance(node, yaml.SequenceNode):
        ctx.error(node, "exceptions must be a list")
        return ()
    out: list[ExceptionRecord] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(node.value):
        where = f"exceptions[{index}]"
        record = _entry(ctx, entry, where)
        if record is None:
            continue
        line = entry.start_mark.line + 1
        if record.id in seen:
            ctx.error(entry, f"{where}: the same exception as on line {seen[record.id]}")
            continue
        seen[record.id] = line
        out.append(record)
    return tuple(out)


def _entry(ctx: YamlContext, node: yaml.Node, where: str) -> ExceptionRecord | None:
    fields = ctx.mapping(node, where, set(FIELDS))
    if not fields and isinstance(node, yaml.MappingNode) and not node.value:
        ctx.error(node, f"{where} is empty")
        return None
    if not fields:
        return None
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        ctx.error(node, f"{where}: missing key(s) {', '.join(repr(m) for m in missing)}")
        return None
    values: dict[str, Any] = {}
    for name, (_, value_node) in fields.items():
        values[name] = ctx.scalar(value_node, f"{where}.{name}")
    if values.get("scope") == "user" and "user" not in fields:
        ctx.error(node, f"{where}: missing key 'user' (scope: user names one user)")
        return None
    try:
        return make_exception(
            scope=values["scope"],
            agency=_as_text(values["agency"]),
            user=_as_text(values.get("user")),
            detector=values["detector"],
            subject=_as_text(values.get("subject")),
            valid_from=values["from"],
            until=values["until"],
            reason=values["reason"],
            author=_as_text(values.get("author")),
        )
    except (ValueError, TypeError) as exc:
        bad = _field_named(str(exc), fields)
        ctx.error(bad if bad is not None else node, f"{where}: {exc}")
        return None


def _as_text(value: Any) -> Any:
    """Agency codes and user names YAML reads as numbers (``user: 1042``) are text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _field_named(message: str, fields: dict[str, tuple[yaml.Node, yaml.Node]]) -> yaml.Node | None:
    """The value node an error message is about (its line is the one to report)."""
    for name in ("until", "from", "scope", "agency", "user", "detector", "subject", "reason"):
        if (message.startswith(name) or f" {name} " in message) and name in fields:
            return fields[name][1]
    return None


def check_exceptions_file(path: Path) -> list[str]:
    """The file's ``file:line`` errors (empty when it loads)."""
    try:
        load_exceptions_file(path)
    except ConfigError as exc:
        return exc.errors
    return []

"""Load and validate a webhook routes file (``config/webhooks.yaml``).

Strict like the policy loader: duplicate and unknown keys are errors, every
error is reported as ``file:line: message`` and all of them at once.
Secrets, secret URLs and header values can live in the environment
(``secret_env: FRT_SIEM_SECRET``) so the file itself can be committed; a
referenced variable that is not set is an error at start-up, not a failed
delivery later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from streams.contract.alert import DETECTORS, SEVERITIES
from streams.errors import ConfigError
from streams.policy.loader import parse_duration
from streams.webhooks.routes import (
    FORMATS,
    PHASES,
    SIGNED_FORMATS,
    UPDATE_MODES,
    DeliverySettings,
    Route,
    WebhookConfig,
)
from streams.webhooks.signing import secret_problem
from streams.webhooks.url_safety import url_problem
from streams.webhooks.yaml_nodes import NodeReader

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~\-]+")
# Headers the dispatcher sets itself; a route may not override them.
_RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "transfer-encoding",
        "connection",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_ROUTE_KEYS = {
    "name",
    "url",
    "url_env",
    "format",
    "secret",
    "secret_env",
    "min_severity",
    "detectors",
    "agencies",
    "updates",
    "allow_private",
    "headers",
    "headers_env",
    "routing_key",
    "routing_key_env",
    "delivery",
}
_DELIVERY_KEYS = {
    "timeout": ("timeout_s", "duration"),
    "max_attempts": ("max_attempts", "count"),
    "backoff_initial": ("backoff_initial_s", "duration"),
    "backoff_max": ("backoff_max_s", "duration"),
    "backoff_multiplier": ("backoff_multiplier", "factor"),
    "retry_after_max": ("retry_after_max_s", "duration"),
    "concurrency": ("concurrency", "count"),
}


def _positive_duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("must be longer than 0")
    return seconds


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number of at least 1, got {value!r}")
    return value


def _factor(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        raise ValueError(f"must be a number of at least 1, got {value!r}")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


_CONVERTERS = {"duration": _positive_duration, "count": _count, "factor": _factor}


class _RouteFile:
    """One parse of one routes file; errors accumulate in ``reader``."""

    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.reader = NodeReader(path)
        self.env = env

    def delivery(self, node: yaml.Node, where: str, base: DeliverySettings) -> DeliverySettings:
        fields = self.reader.mapping(node, where, set(_DELIVERY_KEYS))
        values: dict[str, Any] = {}
        for key, (_, value_node) in fields.items():
            attr, kind = _DELIVERY_KEYS[key]
            values[attr] = self.reader.convert(
                value_node, f"{where}.{key}", _CONVERTERS[kind], getattr(base, attr)
            )
        settings = replace(base, **values)
        if settings.backoff_max_s < settings.backoff_initial_s and "backoff_max" in fields:
            self.reader.error(
                fields["backoff_max"][1],
                f"{where}.backoff_max must not be shorter than backoff_initial",
            )
        return settings

    def from_env(self, node: yaml.Node, where: str) -> str | None:
        """The value of the environment variable a ``*_env`` key names."""
        name = self.reader.string(node, where)
        if name is None:
            return None
        if not _ENV_NAME.fullmatch(name):
            self.reader.error(node, f"{where}: {name!r} is not an environment variable name")
            return None
        value = self.env.get(name)
        if not value:
            self.reader.error(node, f"{where}: environment variable {name} is not set")
            return None
        return value

    def one_of(
        self, fields: dict[str, tuple[yaml.Node, yaml.Node]], key: str, where: str
    ) -> tuple[str | None, yaml.Node | None]:
        """A value given either literally (``key``) or by environment (``key_env``)."""
        env_key = f"{key}_env"
        if key in fields and env_key in fields:
            self.reader.error(fields[env_key][0], f"{where}: give {key} or {env_key}, not both")
            return None, fields[key][1]
        if key in fields:
            return self.reader.string(fields[key][1], f"{where}.{key}"), fields[key][1]
        if env_key in fields:
            return self.from_env(fields[env_key][1], f"{where}.{env_key}"), fields[env_key][1]
        return None, None

    def headers(
        self, fields: dict[str, tuple[yaml.Node, yaml.Node]], where: str
    ) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for key, from_env in (("headers", False), ("headers_env", True)):
            if key not in fields:
                continue
            for name, (name_node, value_node) in self.reader.mapping(
                fields[key][1], f"{where}.{key}"
            ).items():
                label = f"{where}.{key}.{name}"
                if not _HEADER_NAME.fullmatch(name):
                    self.reader.error(name_node, f"{label}: not a valid HTTP header name")
                    continue
                if name.lower() in _RESERVED_HEADERS:
                    self.reader.error(name_node, f"{label}: frtwatch sets this header itself")
                    continue
                if name.lower() in seen:
                    self.reader.error(name_node, f"{label}: header given twice")
                    continue
                seen.add(name.lower())
                value = (
                    self.from_env(value_node, label)
                    if from_env
                    else self.reader.string(value_node, label)
                )
                if value is not None:
                    if any(c in value for c in "\r\n\0"):
                        self.reader.error(
                            value_node, f"{label}: header values may not contain line breaks"
                        )
                        continue
                    out.append((name, value))
        return out

    def route(self, node: yaml.Node, index: int, base: DeliverySettings) -> Route | None:
        where = f"routes[{index}]"
        reader = self.reader
        fields = reader.mapping(node, where, _ROUTE_KEYS)
        if not fields:
            if isinstance(node, yaml.MappingNode):
                reader.error(node, f"{where}: a route needs at least a name and a url")
            return None
        errors_before = len(reader.errors)
        name = None
        if "name" in fields:
            name = reader.string(fields["name"][1], f"{where}.name")
            if name is not None and not _NAME.fullmatch(name):
                reader.error(fields["name"][1], f"{where}.name: {name!r} is not a valid route name")
                name = None
            if name is not None:
                where = f"routes[{index}] ({name})"
        else:
            reader.error(node, f"{where}: missing key 'name'")

        fmt = "native"
        if "format" in fields:
            value = reader.string(fields["format"][1], f"{where}.format")
            if value is not None and value not in FORMATS:
                reader.error(
                    fields["format"][1],
                    f"{where}.format must be one of {', '.join(FORMATS)}, got {value!r}",
                )
            elif value is not None:
                fmt = value

        allow_private = False
        if "allow_private" in fields:
            allow_private = reader.convert(
                fields["allow_private"][1], f"{where}.allow_private", _bool, False
            )

        url, url_node = self.one_of(fields, "url", where)
        if url_node is None:
            reader.error(node, f"{where}: missing key 'url' (or 'url_env')")
        elif url is not None:
            problem = url_problem(url, allow_private=allow_private)
            if problem is not None:
                reader.error(url_node, f"{where}.url: {problem}")

        secret, secret_node = self.one_of(fields, "secret", where)
        if secret is not None and secret_node is not None:
            problem = secret_problem(secret)
            if problem is not None:
                reader.error(secret_node, f"{where}.secret {problem}")
        elif secret_node is None and fmt in SIGNED_FORMATS:
            reader.error(
                node, f"{where}: format {fmt} needs a signing secret (secret or secret_env)"
            )

        routing_key, key_node = self.one_of(fields, "routing_key", where)
        if fmt == "pagerduty" and key_node is None:
            reader.error(
                node, f"{where}: format pagerduty needs routing_key_env (the integration key)"
            )
        elif fmt != "pagerduty" and key_node is not None:
            reader.error(key_node, f"{where}: routing_key is only for format pagerduty")

        min_severity = "low"
        if "min_severity" in fields:
            value = reader.string(fields["min_severity"][1], f"{where}.min_severity")
            if value is not None and value not in SEVERITIES:
                reader.error(
                    fields["min_severity"][1],
                    f"{where}.min_severity must be one of {', '.join(SEVERITIES)}, got {value!r}",
                )
            elif value is not None:
                min_severity = value

        detectors = None
        if "detectors" in fields:
            names = reader.strings(fields["detectors"][1], f"{where}.detectors")
            for value in names:
                if value not in DETECTORS:
                    reader.error(
                        fields["detectors"][1],
                        f"{where}.detectors: unknown detector {value!r} (known: {', '.join(DETECTORS)})",
                    )
            detectors = frozenset(names)

        agencies = None
        if "agencies" in fields:
            agencies = frozenset(reader.strings(fields["agencies"][1], f"{where}.agencies"))

        updates = None  # the format's default
        if "updates" in fields:
            updates = self.updates(fields["updates"][1], f"{where}.updates")

        headers = self.headers(fields, where)
        delivery = base
        if "delivery" in fields:
            delivery = self.delivery(fields["delivery"][1], f"{where}.delivery", base)

        if len(reader.errors) > errors_before or name is None or url is None:
            return None
        return Route(
            name=name,
            url=url,
            format=fmt,
            secret=secret,
            min_severity=min_severity,
            detectors=detectors,
            agencies=agencies,
            updates=updates,
            allow_private=allow_private,
            headers=tuple(headers),
            routing_key=routing_key,
            delivery=delivery,
        )

    def updates(self, node: yaml.Node, where: str) -> frozenset[str] | None:
        """``updates``: ``all``, ``first``, one phase, or a list of phases."""
        reader = self.reader
        words = (
            reader.strings(node, where)
            if isinstance(node, yaml.SequenceNode)
            else [w for w in [reader.string(node, where)] if w is not None]
        )
        expected = f"all, first, or some of {', '.join(PHASES)}"
        if not words:
            if isinstance(node, yaml.SequenceNode):
                reader.error(node, f"{where} must name at least one of {', '.join(PHASES)}")
            return None
        phases: set[str] = set()
        for word in words:
            if word in UPDATE_MODES and not isinstance(node, yaml.SequenceNode):
                phases |= UPDATE_MODES[word]
            elif word in PHASES:
                phases.add(word)
            else:
                reader.error(node, f"{where} must be {expected}, got {word!r}")
                return None
        return frozenset(phases)

    def parse(self, root: yaml.Node) -> tuple[Route, ...]:
        reader = self.reader
        top = reader.mapping(root, "webhooks", {"version", "delivery", "routes"})
        if "version" in top:
            version = reader.scalar(top["version"][1], "version")
            if version != 1:
                reader.error(
                    top["version"][1], f"version: only version 1 is understood, got {version!r}"
                )
        elif isinstance(root, yaml.MappingNode):
            reader.error(root, "webhooks: missing key 'version' (write 'version: 1')")
        base = DeliverySettings()
        if "delivery" in top:
            base = self.delivery(top["delivery"][1], "delivery", base)
        routes: list[Route] = []
        if "routes" not in top:
            if isinstance(root, yaml.MappingNode):
                reader.error(root, "webhooks: missing key 'routes'")
            return ()
        seq = top["routes"][1]
        if not isinstance(seq, yaml.SequenceNode):
            reader.error(seq, "routes must be a list")
            return ()
        if not seq.value:
            reader.error(seq, "routes: at least one route is needed")
        names: dict[str, int] = {}
        for index, item in enumerate(seq.value):
            name_node = _name_node(item)
            if name_node is None:
                continue
            if name_node.value in names:
                reader.error(
                    name_node,
                    f"routes[{index}].name: {name_node.value!r} already used on line {names[name_node.value]}",
                )
            else:
                names[name_node.value] = name_node.start_mark.line + 1
        for index, item in enumerate(seq.value):
            route = self.route(item, index, base)
            if route is not None:
                routes.append(route)
        return tuple(routes)


def _name_node(item: yaml.Node) -> yaml.ScalarNode | None:
    """The first ``name:`` value of a route, for the duplicate-name check."""
    if not isinstance(item, yaml.MappingNode):
        return None
    for key_node, value_node in item.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == "name":
            return value_node if isinstance(value_node, yaml.ScalarNode) else None
    return None


def load_routes(path: str | Path, env: Mapping[str, str] | None = None) -> WebhookConfig:
    """Load and validate a routes file; raise :class:`ConfigError` listing every error."""
    path = Path(path)
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such routes file (start from config/webhooks.example.yaml)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read routes: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}:1: routes file is not UTF-8 text") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from None
    if root is None:
        raise ConfigError(f"{path}:1: routes file is empty")
    parsed = _RouteFile(path, env)
    routes = parsed.parse(root)
    if parsed.reader.errors:
        raise ConfigError(f"{path}: {len(parsed.reader.errors)} error(s)", parsed.reader.errors)
    return WebhookConfig(source=path, routes=routes)

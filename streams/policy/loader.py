"""Strict policy loading: duplicate keys rejected, every error as ``file:line: message``.

The YAML is composed into nodes (which carry line numbers) and validated
field by field; errors are collected, never raised one at a time, so an
analyst fixes a broken file in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from streams.contract.alert import SEVERITIES
from streams.errors import ConfigError
from streams.policy.model import (
    ALERT_PER,
    DEFAULT_SESSION_GAP_S,
    AgencyPolicy,
    AuthorisedEndpoint,
    BehaviorSettings,
    BurstSettings,
    CaseNumberSettings,
    DetectorSettings,
    Policy,
    TrainingSettings,
)

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, None: 1}
_HOST = re.compile(r"[a-z0-9]([a-z0-9\-_]*[a-z0-9])?(\.[a-z0-9]([a-z0-9\-_]*[a-z0-9])?)*")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")

T = TypeVar("T")


def parse_duration(value: object) -> float:
    """Seconds in ``30s``, ``45m``, ``1h``, ``14d``, ``2w`` or a plain number.

    >>> parse_duration("45m"), parse_duration("1.5h"), parse_duration(90)
    (2700.0, 5400.0, 90.0)
    """
    if isinstance(value, bool):
        raise ValueError("a duration, not true/false")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError(f"{value!r} is not a duration such as 30s, 45m, 1h or 14d")


class _Ctx:
    """Collects errors for one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []

    def error(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.errors.append(f"{self.path}:{line}: {message}")

    def mapping(
        self, node: yaml.Node, where: str, allowed: set[str] | None = None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping node's entries by key, duplicates and unknown keys reported."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{where} must be a mapping")
            return {}
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, f"{where}: keys must be plain strings")
                continue
            if key in out:
                first = out[key][0].start_mark.line + 1
                self.error(
                    key_node, f"{where}: duplicate key {key!r} (first defined on line {first})"
                )
                continue
            if allowed is not None and key not in allowed:
                self.error(
                    key_node,
                    f"{where}: unknown key {key!r} (expected one of {', '.join(sorted(allowed))})",
                )
                continue
            out[key] = (key_node, value_node)
        return out

    def scalar(self, node: yaml.Node, where: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, f"{where} must be a single value")
            return None
        return (
            yaml.safe_load(yaml.serialize(node))
            if node.tag != "tag:yaml.org,2002:str"
            else node.value
        )

    def string(
        self, node: yaml.Node, where: str, pattern: re.Pattern[str] | None = None
    ) -> str | None:
        value = self.scalar(node, where)
        if value is None and isinstance(node, yaml.ScalarNode):
            self.error(node, f"{where} must not be empty")
            return None
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(node, f"{where} must be text, got {value!r}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.error(node, f"{where}: {value!r} is not valid")
            return None
        return value

    def strings(
        self, node: yaml.Node, where: str, pattern: re.Pattern[str] | None = None
    ) -> list[str]:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{where} must be a list")
            return []
        out: list[str] = []
        for index, item in enumerate(node.value):
            value = self.string(item, f"{where}[{index}]", pattern)
            if value is not None:
                out.append(value)
        return out

    def convert(self, node: yaml.Node, where: str, fn: Callable[[Any], T], default: T) -> T:
        value = self.scalar(node, where)
        try:
            return fn(value)
        except (ValueError, TypeError) as exc:
            self.error(node, f"{where}: {exc}")
            return default


def _timezone(value: Any) -> str:
    """An IANA time zone name ``zoneinfo`` knows (``America/Chicago``, ``UTC``)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be an IANA time zone name such as America/Chicago, got {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a known IANA time zone (e.g. America/Chicago, Europe/London, UTC)"
        ) from None
    return value


def _positive(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        if kind is int and not isinstance(value, int):
            raise ValueError(f"must be a whole number, got {value!r}")
        if value <= 0:
            raise ValueError(f"must be greater than 0, got {value!r}")
        return kind(value)

    return check


def _at_least_one(value: Any) -> float:
    factor = float(_positive(float)(value))
    if factor < 1:
        raise ValueError(f"must be at least 1 (it raises the ordinary bars), got {value!r}")
    return factor


def _positive_duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("must be longer than 0")
    return seconds


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _severity(value: Any) -> str:
    if value not in SEVERITIES:
        raise ValueError(f"must be one of {', '.join(SEVERITIES)}, got {value!r}")
    return str(value)


def _alert_per(value: Any) -> str:
    if value not in ALERT_PER:
        raise ValueError(f"must be one of {', '.join(ALERT_PER)}, got {value!r}")
    return str(value)


_COMMON = {"enabled", "severity", "session_gap"}
_DETECTOR_KEYS = {
    "prohibited_endpoint": _COMMON | {"alert_per"},
    "unknown_endpoint": _COMMON | {"alert_per"},
    "outside_agency": _COMMON | {"alert_per"},
    "uncertified_user": _COMMON,
    "missing_case_number": _COMMON | {"exempt_purposes"},
    "burst": _COMMON
    | {"window", "baseline", "min_count", "own_factor", "peer_factor", "extreme_factor"},
    "behavior_anomaly": _COMMON | {"model", "training"},
}
_DEFAULT_SEVERITY = {
    "prohibited_endpoint": "critical",
    "unknown_endpoint": "high",
    "outside_agency": "high",
    "uncertified_user": "medium",
    "missing_case_number": "medium",
    "burst": "high",
    "behavior_anomaly": "medium",
}


def _detector(ctx: _Ctx, name: str, node: yaml.Node | None, base_dir: Path) -> DetectorSettings:
    fields = (
        ctx.mapping(node, f"detectors.{name}", _DETECTOR_KEYS[name]) if node is not None else {}
    )
    where = f"detectors.{name}"
    common: dict[str, Any] = {"enabled": True, "severity": _DEFAULT_SEVERITY[name]}
    if "enabled" in fields:
        common["enabled"] = ctx.convert(fields["enabled"][1], f"{where}.enabled", _bool, True)
    if "severity" in fields:
        common["severity"] = ctx.convert(
            fields["severity"][1], f"{where}.severity", _severity, _DEFAULT_SEVERITY[name]
        )
    if "session_gap" in fields:
        common["session_gap_s"] = ctx.convert(
            fields["session_gap"][1], f"{where}.session_gap", _positive_duration, None
        )
    if "alert_per" in fields:
        common["alert_per"] = ctx.convert(
            fields["alert_per"][1], f"{where}.alert_per", _alert_per, "user"
        )
    if name == "missing_case_number":
        exempt = (
            ctx.strings(fields["exempt_purposes"][1], f"{where}.exempt_purposes")
            if "exempt_purposes" in fields
            else []
        )
        return CaseNumberSettings(**common, exempt_purposes=frozenset(p.lower() for p in exempt))
    if name == "burst":
        defaults = BurstSettings()
        extra: dict[str, Any] = {}
        for key, attr, fn, default in (
            ("window", "window_s", _positive_duration, defaults.window_s),
            ("baseline", "baseline_s", _positive_duration, defaults.baseline_s),
            ("min_count", "min_count", _positive(int), defaults.min_count),
            ("own_factor", "own_factor", _positive(float), defaults.own_factor),
            ("peer_factor", "peer_factor", _positive(float), defaults.peer_factor),
            ("extreme_factor", "extreme_factor", _at_least_one, defaults.extreme_factor),
        ):
            if key in fields:
                extra[attr] = ctx.convert(fields[key][1], f"{where}.{key}", fn, default)
        settings = BurstSettings(**common, **extra)
        if settings.baseline_s <= settings.window_s and "baseline" in fields:
            ctx.error(fields["baseline"][1], f"{where}.baseline must be longer than the window")
        return settings
    if name == "behavior_anomaly":
        model = None
        if "model" in fields:
            text = ctx.string(fields["model"][1], f"{where}.model")
            model = (base_dir / text).resolve() if text else None
        training = (
            _training(ctx, fields["training"][1], f"{where}.training")
            if "training" in fields
            else TrainingSettings()
        )
        return BehaviorSettings(**common, model_path=model, training=training)
    return DetectorSettings(**common)


def _non_negative_duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def _promote(value: Any) -> str:
    if value not in ("auto", "manual"):
        raise ValueError(f"must be auto or manual, got {value!r}")
    return str(value)


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
        raise ValueError(f"must be a number from -1 to 1, got {value!r}")
    return float(value)


_TRAINING_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "min_history": ("min_history_s", _positive_duration),
    "min_users": ("min_users", _positive(int)),
    "retrain_every": ("retrain_every_s", _positive_duration),
    "history": ("history_s", _positive_duration),
    "lead": ("lead_s", _non_negative_duration),
    "shadow": ("shadow_s", _non_negative_duration),
    "promote": ("promote", _promote),
    "max_flagged_ratio": ("max_flagged_ratio", _at_least_one),
    "min_correlation": ("min_correlation", _share),
}


def _training(ctx: _Ctx, node: yaml.Node, where: str) -> TrainingSettings:
    fields = ctx.mapping(node, where, set(_TRAINING_KEYS))
    defaults = TrainingSettings()
    values: dict[str, Any] = {}
    for key, (attr, fn) in _TRAINING_KEYS.items():
        if key in fields:
            values[attr] = ctx.convert(fields[key][1], f"{where}.{key}", fn,
                                       getattr(defaults, attr))  # fmt: skip
    settings = TrainingSettings(**values)
    if settings.history_s < settings.min_history_s and "history" in fields:
        ctx.error(fields["history"][1], f"{where}.history must be at least min_history")
    return settings


def _parse(ctx: _Ctx, root: yaml.Node) -> Policy | None:
    top = ctx.mapping(
        root,
        "policy",
        {
            "version",
            "agencies",
            "endpoints",
            "certifications",
            "detectors",
            "catalogue",
            "exceptions",
            "default_timezone",
        },
    )
    base_dir = ctx.path.resolve().parent
    default_timezone = "UTC"
    if "default_timezone" in top:
        default_timezone = ctx.convert(
            top["default_timezone"][1], "default_timezone", _timezone, default_timezone
        )
    if "version" in top:
        version = ctx.scalar(top["version"][1], "version")
        if version != 1:
            ctx.error(top["version"][1], f"version: only version 1 is understood, got {version!r}")
    else:
        ctx.error(root, "policy: missing key 'version' (write 'version: 1')")

    agencies: dict[str, AgencyPolicy] = {}
    pending_mou: list[tuple[str, yaml.Node, list[str]]] = []
    if "agencies" not in top:
        ctx.error(root, "policy: missing key 'agencies'")
    else:
        entries = ctx.mapping(top["agencies"][1], "agencies")
        if not entries and isinstance(top["agencies"][1], yaml.MappingNode):
            ctx.error(top["agencies"][1], "agencies: at least one agency is needed")
        for code, (key_node, value_node) in entries.items():
            if not _CODE.fullmatch(code):
                ctx.error(key_node, f"agencies: {code!r} is not a valid agency code")
                continue
            name, mou, zone = code, [], default_timezone
            if not (
                isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "~", "null")
            ):
                fields = ctx.mapping(
                    value_node, f"agencies.{code}", {"name", "may_search_for", "timezone"}
                )
                if "name" in fields:
                    name = ctx.string(fields["name"][1], f"agencies.{code}.name") or code
                if "may_search_for" in fields:
                    mou = ctx.strings(
                        fields["may_search_for"][1], f"agencies.{code}.may_search_for"
                    )
                    pending_mou.append((code, fields["may_search_for"][1], mou))
                if "timezone" in fields:
                    zone = ctx.convert(
                        fields["timezone"][1], f"agencies.{code}.timezone", _timezone, zone
                    )
            agencies[code] = AgencyPolicy(
                code=code, name=name, may_search_for=frozenset(mou), timezone=zone
            )
    for code, node, mou in pending_mou:
        for other in mou:
            if other not in agencies:
                ctx.error(node, f"agencies.{code}.may_search_for: unknown agency {other!r}")
            elif other == code:
                ctx.error(
                    node, f"agencies.{code}.may_search_for: an agency always searches for itself"
                )

    authorised: list[AuthorisedEndpoint] = []
    prohibited: list[str] = []
    if "endpoints" not in top:
        ctx.error(root, "policy: missing key 'endpoints'")
    else:
        eps = ctx.mapping(top["endpoints"][1], "endpoints", {"authorised", "prohibited"})
        if "authorised" in eps:
            seq = eps["authorised"][1]
            if not isinstance(seq, yaml.SequenceNode):
                ctx.error(seq, "endpoints.authorised must be a list")
            else:
                seen: dict[str, int] = {}
                for index, item in enumerate(seq.value):
                    where = f"endpoints.authorised[{index}]"
                    fields = ctx.mapping(item, where, {"host", "agencies"})
                    if "host" not in fields:
                        if isinstance(item, yaml.MappingNode):
                            ctx.error(item, f"{where}: missing key 'host'")
                        continue
                    host = ctx.string(fields["host"][1], f"{where}.host")
                    if host is None:
                        continue
                    host = host.lower().rstrip(".")
                    if not _HOST.fullmatch(host):
                        ctx.error(fields["host"][1], f"{where}.host: {host!r} is not a host name")
                        continue
                    if host in seen:
                        ctx.error(
                            fields["host"][1],
                            f"{where}.host: {host!r} already listed on line {seen[host]}",
                        )
                        continue
                    seen[host] = fields["host"][1].start_mark.line + 1
                    limited = None
                    if "agencies" in fields:
                        codes = ctx.strings(fields["agencies"][1], f"{where}.agencies")
                        for code in codes:
                            if agencies and code not in agencies:
                                ctx.error(
                                    fields["agencies"][1],
                                    f"{where}.agencies: unknown agency {code!r}",
                                )
                        limited = frozenset(codes)
                    authorised.append(AuthorisedEndpoint(host=host, agencies=limited))
        if "prohibited" in eps:
            for index, suffix in enumerate(
                ctx.strings(eps["prohibited"][1], "endpoints.prohibited")
            ):
                suffix = suffix.lower().strip(".")
                if not _HOST.fullmatch(suffix):
                    ctx.error(
                        eps["prohibited"][1].value[index],
                        f"endpoints.prohibited[{index}]: {suffix!r} is not a domain",
                    )
                    continue
                prohibited.append(suffix)
        for ep in authorised:
            for suffix in prohibited:
                if ep.host == suffix or ep.host.endswith("." + suffix):
                    ctx.error(
                        eps["prohibited"][1],
                        f"endpoints: {ep.host!r} is both authorised and prohibited",
                    )

    csv_path: Path | None = None
    cert_topic = "frt.certifications"
    if "certifications" in top:
        certs = ctx.mapping(top["certifications"][1], "certifications", {"csv", "topic"})
        if "csv" in certs:
            text = ctx.string(certs["csv"][1], "certifications.csv")
            if text:
                csv_path = (base_dir / text).resolve()
                if not csv_path.is_file():
                    ctx.error(
                        certs["csv"][1], f"certifications.csv: no such file {str(csv_path)!r}"
                    )
        if "topic" in certs:
            cert_topic = ctx.string(certs["topic"][1], "certifications.topic") or cert_topic

    exceptions_file, file_exceptions = (
        _exceptions(ctx, top["exceptions"][1], base_dir) if "exceptions" in top else (None, ())
    )

    detectors: dict[str, DetectorSettings] = {}
    session_gap = DEFAULT_SESSION_GAP_S
    det_fields = (
        ctx.mapping(
            top["detectors"][1], "detectors", {"session_gap", "suppression", *_DETECTOR_KEYS}
        )
        if "detectors" in top
        else {}
    )
    if "suppression" in det_fields:
        # Not an alias: a fixed period and a quiet gap fold evidence differently, and a
        # 1 h gap read from an old "suppression: 1h" would keep the old flood of alerts.
        ctx.error(
            det_fields["suppression"][0],
            "detectors.suppression is no longer read: alerts now stay open while evidence "
            "keeps coming; write detectors.session_gap (the quiet event-time gap that "
            "closes an alert, e.g. 24h) instead",
        )
    if "session_gap" in det_fields:
        session_gap = ctx.convert(
            det_fields["session_gap"][1], "detectors.session_gap", _positive_duration, session_gap
        )
    for name in _DETECTOR_KEYS:
        detector_node = det_fields[name][1] if name in det_fields else None
        detectors[name] = _detector(ctx, name, detector_node, base_dir)

    catalogue, kinds = (
        _catalogue(ctx, top["catalogue"][1], base_dir)
        if "catalogue" in top
        else (None, frozenset())
    )
    if catalogue is not None and kinds:
        for ep in authorised:
            found = catalogue.match(ep.host)
            if found is not None and found[0].kind in kinds:
                ctx.error(
                    top["catalogue"][1],
                    f"catalogue.prohibit_kinds: authorised host {ep.host!r} is a {found[0].kind} service",
                )

    if ctx.errors:
        return None
    return Policy(
        source=ctx.path,
        agencies=agencies,
        authorised=tuple(authorised),
        prohibited_suffixes=tuple(prohibited),
        certifications_csv=csv_path,
        certifications_topic=cert_topic,
        session_gap_s=session_gap,
        **detectors,  # type: ignore[arg-type]
        catalogue=catalogue,
        prohibited_kinds=kinds,
        exceptions_file=exceptions_file,
        file_exceptions=file_exceptions,
        default_timezone=default_timezone,
    )


def _exceptions(ctx: _Ctx, node: yaml.Node, base_dir: Path) -> tuple[Path | None, tuple[Any, ...]]:
    """The ``exceptions`` section: the policy-side exceptions file, loaded (its own
    ``file:line`` errors join the policy's)."""
    from streams.exceptions.loader import load_exceptions_file

    fields = ctx.mapping(node, "exceptions", {"file"})
    if "file" not in fields:
        return None, ()
    text = ctx.string(fields["file"][1], "exceptions.file")
    if not text:
        return None, ()
    path = (base_dir / text).resolve()
    if not path.is_file():
        ctx.error(fields["file"][1], f"exceptions.file: no such file {str(path)!r}")
        return path, ()
    try:
        return path, load_exceptions_file(path)
    except ConfigError as exc:
        ctx.errors.extend(exc.errors)
        return path, ()


def _catalogue(ctx: _Ctx, node: yaml.Node, base_dir: Path) -> tuple[Any, frozenset[str]]:
    """The ``catalogue`` section: the catalogue file (default: the shipped one) and the
    kinds it prohibits as a whole."""
    from streams.sources.catalogue import DEFAULT_CATALOGUE, KINDS, load_catalogue

    fields = ctx.mapping(node, "catalogue", {"file", "prohibit_kinds"})
    path = DEFAULT_CATALOGUE
    if "file" in fields:
        text = ctx.string(fields["file"][1], "catalogue.file")
        if text:
            path = (base_dir / text).resolve()
    kinds: set[str] = set()
    if "prohibit_kinds" in fields:
        for kind in ctx.strings(fields["prohibit_kinds"][1], "catalogue.prohibit_kinds"):
            if kind not in KINDS:
                ctx.error(
                    fields["prohibit_kinds"][1],
                    f"catalogue.prohibit_kinds: {kind!r} is not one of {', '.join(KINDS)}",
                )
            kinds.add(kind)
    if not path.is_file():
        ctx.error(
            fields.get("file", (node, node))[1], f"catalogue.file: no such file {str(path)!r}"
        )
        return None, frozenset(kinds)
    try:
        catalogue = load_catalogue(path)
    except ConfigError as exc:
        ctx.errors.extend(exc.errors)
        return None, frozenset(kinds)
    return catalogue, frozenset(kinds)


def _line_of(error: str) -> int:
    """The line number in a ``file:line: message`` error (stable sort key)."""
    parts = error.split(":", 2)
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


YamlContext = _Ctx
"""Public name of the line-numbered YAML checker, for the other strict config loaders
(the FRT service catalogue, ingest mappings)."""
line_of = _line_of


def compose_yaml(path: Path, what: str) -> tuple[yaml.Node, YamlContext]:
    """The YAML node tree of ``path`` and an error collector for it; a read or syntax
    error is a :class:`ConfigError` with the file and line. ``what`` names the file
    in messages (``catalogue``, ``mapping``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}:1: {what} is not UTF-8 text") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from None
    if root is None:
        raise ConfigError(f"{path}:1: {what} file is empty")
    return root, _Ctx(path)


def raise_errors(ctx: YamlContext) -> None:
    """Raise every error ``ctx`` collected, sorted by line, as one :class:`ConfigError`."""
    if ctx.errors:
        errors = sorted(ctx.errors, key=_line_of)
        raise ConfigError(f"{ctx.path}: {len(errors)} error(s)", errors)


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file; raise :class:`ConfigError` listing every error."""
    path = Path(path)
    ctx = _Ctx(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read policy: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}:1: policy is not UTF-8 text") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from None
    if root is None:
        raise ConfigError(f"{path}:1: policy file is empty")
    policy = _parse(ctx, root)
    if policy is None:
        errors = sorted(ctx.errors, key=_line_of)
        raise ConfigError(f"{path}: {len(errors)} error(s)", errors)
    return policy

"""How long each topic frtwatch creates keeps its records.

The input topic is audit material: replay, backtests and the annual compliance reports
read months or years of it, and state FRT laws ask for such records to be kept for
years, so it is kept long (``FRTWATCH_RETENTION_EVENTS``, three years by default). The
alerts are kept as long (``FRTWATCH_RETENTION_ALERTS``). Dead letters are for fixing a
shipper (``FRTWATCH_RETENTION_DLQ``, 90 days). The worker's internal repartition topic
only has to outlast a worker outage (``FRTWATCH_RETENTION_INTERNAL``, 7 days). Compacted
topics (certificates, triage state) keep each key's latest record; the triage history
is the audit trail of the console and is never deleted.

Topics are created with these settings; ``frtwatch kafka topics`` shows what a broker
has and ``--apply`` sets it on existing topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.errors import ConfigError

if TYPE_CHECKING:
    from streams.settings import Settings

FOREVER = -1
DAY_MS = 86_400_000
DEFAULTS = {"events": 1095 * DAY_MS, "alerts": 1095 * DAY_MS, "dlq": 90 * DAY_MS,
            "internal": 7 * DAY_MS}  # fmt: skip
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": DAY_MS, "w": 7 * DAY_MS,
             "y": 365 * DAY_MS}  # fmt: skip
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
KEYS = ("cleanup.policy", "retention.ms")


def parse_retention(name: str, raw: str) -> int:
    """Milliseconds of ``raw`` (``90d``, ``3y``, ``12h``, ``forever``); -1 is forever.

    >>> parse_retention("X", "90d"), parse_retention("X", "forever"), parse_retention("X", "1y")
    (7776000000, -1, 31536000000)
    """
    text = raw.strip().lower()
    if text in ("forever", "-1"):
        return FOREVER
    match = _DURATION.fullmatch(text)
    if not match or int(match.group(1)) == 0:
        raise ConfigError(f"{name}={raw!r} is not a retention such as 90d, 26w, 3y or forever")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Retention:
    """Retention of each kind of topic, in milliseconds (-1: forever)."""

    events_ms: int = DEFAULTS["events"]
    alerts_ms: int = DEFAULTS["alerts"]
    dlq_ms: int = DEFAULTS["dlq"]
    internal_ms: int = DEFAULTS["internal"]


MODEL_RECORD_MAX_BYTES = 64 * 1024 * 1024
"""The largest record the models topic takes (Kafka's default of 1 MiB is too small)."""


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """The cleanup and retention of every topic frtwatch creates, by topic name."""
    t, r = settings.topics, settings.retention

    def delete(ms: int) -> dict[str, str]:
        return {"cleanup.policy": "delete", "retention.ms": str(ms)}

    return {
        t.events: delete(r.events_ms),
        t.alerts: delete(r.alerts_ms),
        t.dlq: delete(r.dlq_ms),
        t.webhook_dlq: delete(r.dlq_ms),
        f"{settings.app_id}-events-by-agency": delete(r.internal_ms),
        t.certifications: {"cleanup.policy": "compact"},
        t.exceptions: {"cleanup.policy": "compact"},
        # A model version is one record of a few MiB (a zlib'd skops archive).
        t.models: {"cleanup.policy": "compact", "max.message.bytes": str(MODEL_RECORD_MAX_BYTES)},
        t.triage: {"cleanup.policy": "compact"},
        f"{t.triage}.history": delete(FOREVER),
    }


def describe(value: str) -> str:
    """``retention.ms`` for people: ``1095d``, ``forever``, ``36h``."""
    try:
        ms = int(value)
    except ValueError:
        return value
    if ms < 0:
        return "forever"
    for unit, size in (("d", DAY_MS), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


@dataclass(frozen=True, slots=True)
class TopicRetention:
    topic: str
    wanted: dict[str, str]
    actual: dict[str, str] | None  # None: the topic does not exist

    @property
    def in_step(self) -> bool:
        return self.actual is not None and all(
            self.actual.get(k) == v for k, v in self.wanted.items()
        )

    def line(self) -> str:
        def show(configs: dict[str, str]) -> str:
            policy = configs.get("cleanup.policy", "?")
            shown = policy if "compact" in policy else (
                f"{policy}, {describe(configs.get('retention.ms', '?'))}")  # fmt: skip
            others = (f"{k} {configs.get(k, '?')}" for k in self.wanted if k not in KEYS)
            return ", ".join((shown, *others))

        if self.actual is None:
            return f"{self.topic}: missing (created as {show(self.wanted)})"
        state = "ok" if self.in_step else f"WANTED {show(self.wanted)}"
        return f"{self.topic}: {show(self.actual)}  {state}"


def inspect(admin: Any, settings: Settings) -> list[TopicRetention]:
    """What the broker has for each topic of :func:`topic_configs` (kafka-python admin)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    wanted = topic_configs(settings)
    existing = set(admin.list_topics())
    present = [name for name in wanted if name in existing]
    actual: dict[str, dict[str, str]] = {}
    if present:
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in present]
        described = admin.describe_configs(resources, config_filter="all")
        for name, entries in _topics_of(described).items():
            keys = (*KEYS, *(k for k in wanted[name] if k not in KEYS))
            actual[name] = {k: str(_value(entries[k])) for k in keys if k in entries}
    return [TopicRetention(name, configs, actual.get(name)) for name, configs in wanted.items()]


def apply(admin: Any, settings: Settings) -> list[str]:
    """Set the wanted configs on the existing topics that differ; their names."""
    from kafka.admin import ConfigResource, ConfigResourceType

    changes = [r for r in inspect(admin, settings) if r.actual is not None and not r.in_step]
    if changes:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, r.topic, configs=r.wanted) for r in changes]
        )
    return [r.topic for r in changes]


def _topics_of(described: Any) -> dict[str, dict[str, Any]]:
    for key, value in described.items():
        if str(key).lower().endswith("topic"):
            return dict(value)
    return {}


def _value(entry: Any) -> Any:
    if isinstance(entry, dict):
        return entry.get("value", entry.get("config_value"))
    return entry

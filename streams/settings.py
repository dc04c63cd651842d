"""Settings: one frozen object built once from the environment.

Every variable is documented in the README. Nothing else in frtwatch reads
``os.environ`` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from streams.errors import ConfigError
from streams.kafka_client import KafkaSecurity
from streams.retention import DEFAULTS, Retention, parse_retention

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY = PROJECT_ROOT / "config" / "policy.yaml"


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Kafka topic names (CONTRACT.md section 4); every one can be renamed."""

    events: str = "frt.search-events"
    dlq: str = "frt.search-events.dlq"
    certifications: str = "frt.certifications"
    alerts: str = "frt.alerts"
    webhook_dlq: str = "frt.alerts.webhook-dlq"
    triage: str = "frt.triage"
    exceptions: str = "frt.exceptions"
    models: str = "frt.models"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a frtwatch process needs to know about where it runs."""

    bootstrap: str = "127.0.0.1:9092"
    kafka: KafkaSecurity = field(default_factory=KafkaSecurity)
    """TLS and SASL of every Kafka client (``FRTWATCH_KAFKA_*``, streams/kafka_client.py)."""
    app_id: str = "frtwatch"
    topics: TopicNames = field(default_factory=TopicNames)
    partitions: int = 4
    replication_factor: int = 1
    policy_path: Path = DEFAULT_POLICY
    certifications_csv: Path | None = None
    model_path: Path | None = None
    data_dir: Path = Path(".frtwatch")
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    web_enabled: bool = False
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    worker_status_url: str = ""
    """The worker's ``/status``, for the console (``FRTWATCH_WORKER_STATUS_URL``)."""
    allowed_lateness_s: float = 3600.0
    trainer_mode: str = "auto"
    """``FRTWATCH_TRAINER``: whether ``frtwatch worker`` starts the model trainer
    (:mod:`streams.model_trainer`) in a process of its own: ``on``, ``off``, or ``auto``
    (on, unless the cluster is SASL-secured: there the trainer runs as its own
    principal, ``frtwatch model trainer``)."""
    max_clock_skew_s: float = 300.0
    watermark_idle_s: float = 2.0
    batch_size: int = 2000
    batch_within_s: float = 0.02
    retention: Retention = field(default_factory=Retention)
    """How long the topics frtwatch creates keep records (``FRTWATCH_RETENTION_*``)."""

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def trainer(self) -> bool:
        """Whether ``frtwatch worker`` starts the trainer (see ``trainer_mode``)."""
        if self.trainer_mode == "auto":
            return not self.kafka.uses_sasl
        return self.trainer_mode == "on"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must not be negative")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw).expanduser() if raw else None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``FRTWATCH_*`` environment variables."""
    env = os.environ if env is None else env
    base = Settings()
    topics = TopicNames(
        events=env.get("FRTWATCH_TOPIC_EVENTS", base.topics.events),
        dlq=env.get("FRTWATCH_TOPIC_DLQ", base.topics.dlq),
        certifications=env.get("FRTWATCH_TOPIC_CERTIFICATIONS", base.topics.certifications),
        alerts=env.get("FRTWATCH_TOPIC_ALERTS", base.topics.alerts),
        webhook_dlq=env.get("FRTWATCH_TOPIC_WEBHOOK_DLQ", base.topics.webhook_dlq),
        triage=env.get("FRTWATCH_TOPIC_TRIAGE", base.topics.triage),
        exceptions=env.get("FRTWATCH_TOPIC_EXCEPTIONS", base.topics.exceptions),
        models=env.get("FRTWATCH_TOPIC_MODELS", base.topics.models),
    )
    for name in (topics.events, topics.dlq, topics.certifications, topics.alerts,
                 topics.exceptions, topics.models):  # fmt: skip
        if not name:
            raise ConfigError("topic names must not be empty")
    return Settings(
        bootstrap=env.get("FRTWATCH_BOOTSTRAP", base.bootstrap),
        kafka=KafkaSecurity.from_env(env),
        app_id=env.get("FRTWATCH_APP_ID", base.app_id),
        topics=topics,
        partitions=_int(env, "FRTWATCH_PARTITIONS", base.partitions, minimum=1),
        replication_factor=_int(
            env, "FRTWATCH_REPLICATION_FACTOR", base.replication_factor, minimum=1
        ),
        policy_path=_path(env, "FRTWATCH_POLICY") or base.policy_path,
        certifications_csv=_path(env, "FRTWATCH_CERTIFICATIONS"),
        model_path=_path(env, "FRTWATCH_MODEL"),
        data_dir=_path(env, "FRTWATCH_DATA_DIR") or base.data_dir,
        web_host=env.get("FRTWATCH_WEB_HOST", base.web_host),
        web_port=_int(env, "FRTWATCH_WEB_PORT", base.web_port, minimum=1),
        web_enabled=_bool(env, "FRTWATCH_WEB_ENABLED", base.web_enabled),
        metrics_host=env.get("FRTWATCH_METRICS_HOST", base.metrics_host),
        metrics_port=_int(env, "FRTWATCH_METRICS_PORT", base.metrics_port),
        worker_status_url=env.get("FRTWATCH_WORKER_STATUS_URL", base.worker_status_url),
        allowed_lateness_s=_float(env, "FRTWATCH_ALLOWED_LATENESS", base.allowed_lateness_s),
        trainer_mode=_choice(env, "FRTWATCH_TRAINER", base.trainer_mode, ("auto", "on", "off")),
        max_clock_skew_s=_float(env, "FRTWATCH_MAX_CLOCK_SKEW", base.max_clock_skew_s),
        watermark_idle_s=_float(env, "FRTWATCH_WATERMARK_IDLE", base.watermark_idle_s),
        batch_size=_int(env, "FRTWATCH_BATCH_SIZE", base.batch_size, minimum=1),
        batch_within_s=_float(env, "FRTWATCH_BATCH_WITHIN", base.batch_within_s),
        retention=_retention(env),
    )


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def _retention(env: Mapping[str, str]) -> Retention:
    def one(kind: str) -> int:
        name = f"FRTWATCH_RETENTION_{kind.upper()}"
        raw = env.get(name)
        return DEFAULTS[kind] if raw is None else parse_retention(name, raw)

    return Retention(
        events_ms=one("events"), alerts_ms=one("alerts"), dlq_ms=one("dlq"),
        internal_ms=one("internal"),
    )  # fmt: skip

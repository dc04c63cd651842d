"""What a worker loads before it starts: policy, certificates, behaviour model, engine.

Everything here is checked up front so that a worker with a bad policy, an
unreadable certificates file, or a behaviour model file that fails its checks
refuses to start with one clear message, instead of starting and failing on the
first event.

A worker whose policy enables ``behavior_anomaly`` but which has no model yet (none
configured, or no file at the configured path: a fresh deployment) starts with
behaviour detection in **warm-up** (:class:`BehaviorStatus`): the rule detectors judge
from the first event, the behaviour features are kept per user as always, and no
event is scored, so no behaviour alert is raised until a model version applies. The
versions come from the models topic (:mod:`streams.worker.model_feed`), where the
trainer publishes them (:mod:`streams.model_trainer`); a model file, when there is
one, applies from the beginning of time beneath them. The state is in the start-up
banner, the ``frtwatch_model_state`` metric and the worker's ``/status`` endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from models.versions import ModelTimeline
from streams.errors import ModelError
from streams.policy import CertificateRegistry, Policy, load_certificates_csv, load_policy
from streams.settings import Settings, TopicNames

if TYPE_CHECKING:
    from models.scoring import BehaviorModel
    from streams.detectors.engine import Engine


@dataclass(frozen=True, slots=True)
class BehaviorStatus:
    """The behaviour detector's state at start-up, and why."""

    state: str
    """``scoring`` (a model), ``warmup`` (no model yet) or ``disabled``
    (:data:`streams.metrics.MODEL_STATES`)."""
    detail: str
    """One line for the banner and the status endpoint."""

    def to_dict(self) -> dict[str, str]:
        return {"state": self.state, "detail": self.detail}


@dataclass(slots=True)
class WorkerRuntime:
    """The loaded, validated pieces one worker process runs with."""

    settings: Settings
    policy: Policy
    certificates: CertificateRegistry
    certificates_csv: Path | None
    engine: Engine
    model: BehaviorModel | None
    model_path: Path | None
    behavior: BehaviorStatus = BehaviorStatus("disabled", "none (behavior_anomaly disabled)")
    models: ModelTimeline = field(default_factory=ModelTimeline)
    """The versions the judge scores with: the model file's (if any) from the start, and
    the models topic's on top (:mod:`streams.worker.model_feed`)."""

    @property
    def certifications_topic(self) -> str:
        return self.settings.topics.certifications

    def describe(self) -> list[tuple[str, str]]:
        """``(label, value)`` lines for the start-up banner."""
        topics = self.settings.topics
        enabled = [
            name
            for name in (
                "prohibited_endpoint",
                "unknown_endpoint",
                "outside_agency",
                "uncertified_user",
                "missing_case_number",
                "burst",
                "behavior_anomaly",
            )
            if self.policy.detector(name).enabled
        ]
        model = self.behavior.detail
        csv = str(self.certificates_csv) if self.certificates_csv else "none"
        return [
            ("broker", self.settings.bootstrap),
            ("app id", self.settings.app_id),
            ("input", f"{topics.events} ({self.settings.partitions} partitions if created)"),
            ("dead letters", topics.dlq),
            ("alerts", topics.alerts),
            ("certificates", f"{csv} + live topic {topics.certifications}"),
            (
                "exceptions",
                f"{self.policy.exceptions_file or 'no file'} "
                f"({len(self.policy.file_exceptions)}) + live topic {topics.exceptions}",
            ),
            ("policy", str(self.policy.source)),
            ("detectors", ", ".join(enabled) or "none"),
            ("model", model),
            (
                "model versions",
                f"live topic {topics.models} (trainer: {'on' if self.settings.trainer else 'off'})",
            ),
            ("state", f"{self.settings.data_dir} (changelogged tables)"),
        ]


def certificates_csv_path(settings: Settings, policy: Policy) -> Path | None:
    """``FRTWATCH_CERTIFICATIONS`` overrides the policy's CSV."""
    return settings.certifications_csv or policy.certifications_csv


def model_path_for(settings: Settings, policy: Policy) -> Path | None:
    """``FRTWATCH_MODEL`` overrides the policy's ``behavior_anomaly.model``."""
    return settings.model_path or policy.behavior_anomaly.model_path


TRAIN_HINT = (
    "the trainer publishes the first version to the models topic once there is enough "
    "history (detectors.behavior_anomaly.training), or train one with 'frtwatch model train'"
)


def load_behavior_model(
    settings: Settings, policy: Policy
) -> tuple[BehaviorModel | None, Path | None, BehaviorStatus]:
    """The behaviour model and detector state (see the module doc).

    No model configured, or no file at its path: warm-up. A file that is there but fails
    a check (hash, types, feature version, time zones) is a :class:`ModelError`: a bad
    artifact is never skipped silently.
    """
    if not policy.behavior_anomaly.enabled:
        return None, None, BehaviorStatus("disabled", "none (behavior_anomaly disabled)")
    path = model_path_for(settings, policy)
    if path is None:
        return (
            None,
            None,
            BehaviorStatus(
                "warmup",
                "none yet: behaviour detection warming up, no behaviour alerts (no model "
                f"configured: set behavior_anomaly.model or FRTWATCH_MODEL; {TRAIN_HINT})",
            ),
        )
    if not path.exists():
        return (
            None,
            path,
            BehaviorStatus(
                "warmup",
                f"none yet: behaviour detection warming up, no behaviour alerts (no model at "
                f"{path}: {TRAIN_HINT})",
            ),
        )
    from models.scoring import load_model

    where = f"behavior_anomaly is enabled in {policy.source}"
    otherwise = "or set behavior_anomaly.enabled: false in the policy"
    try:
        model = load_model(path, policy.local_hours())
    except ModelError as exc:
        raise ModelError(f"cannot start: {where} but {exc}; {otherwise}") from None
    return model, path, BehaviorStatus("scoring", f"{path} (threshold {model.threshold:.4f})")


def with_policy_topics(settings: Settings, policy: Policy) -> Settings:
    """Settings whose certifications topic is the policy's, unless the environment set one.

    ``FRTWATCH_TOPIC_CERTIFICATIONS`` wins; otherwise the policy's
    ``certifications.topic``; otherwise the default.
    """
    default = TopicNames().certifications
    if settings.topics.certifications != default or policy.certifications_topic == default:
        return settings
    topics = replace(settings.topics, certifications=policy.certifications_topic)
    return settings.with_overrides(topics=topics)


def load_runtime(settings: Settings) -> WorkerRuntime:
    """Load and check everything the worker needs; raise a :class:`FrtwatchError` if not.

    The returned runtime's ``settings`` are the effective ones (see
    :func:`with_policy_topics`).
    """
    from streams.detectors.engine import Engine

    policy = load_policy(settings.policy_path)
    settings = with_policy_topics(settings, policy)
    csv = certificates_csv_path(settings, policy)
    certificates = load_certificates_csv(csv) if csv else CertificateRegistry()
    model, model_path, behavior = load_behavior_model(settings, policy)
    engine = Engine(policy, certificates, allowed_lateness_s=settings.allowed_lateness_s)
    return WorkerRuntime(
        settings=settings,
        policy=policy,
        certificates=certificates,
        certificates_csv=csv,
        engine=engine,
        model=model,
        model_path=model_path,
        behavior=behavior,
        models=ModelTimeline.single(model),
    )

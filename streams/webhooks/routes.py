"""Webhook routes: where alerts go, in which format, filtered how, retried how.

These are plain frozen values built by :mod:`streams.webhooks.loader` from
the routes file; secrets are kept out of ``repr`` so they never reach a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from streams.contract.alert import SEVERITIES
from streams.webhooks.alert_message import AlertMessage
from streams.webhooks.url_safety import redacted_target

FORMATS = ("native", "ocsf", "slack", "pagerduty")
# Formats whose receivers authenticate us by the Standard Webhooks signature;
# Slack and PagerDuty authenticate by the secret URL / routing key instead.
SIGNED_FORMATS = frozenset({"native", "ocsf"})
PHASES = ("open", "update", "close")
"""The versions of an alert a route can ask for: its opening message, every update while
it is open, its close (the final version, ``status: "closed"``)."""
UPDATE_MODES = {"all": frozenset(PHASES), "first": frozenset({"open"})}
"""Words the ``updates`` option also takes: ``all`` (every version), ``first`` (= ``open``)."""


def default_update_mode(fmt: str) -> frozenset[str]:
    """Slack posts a chat message per delivery, so it gets each alert when it opens and
    when it closes, not on every update.

    A SIEM wants every update (the evidence count grows), and PagerDuty folds
    updates into one incident by ``dedup_key`` and resolves it on the close, so both
    get every message.

    >>> sorted(default_update_mode("slack")), sorted(default_update_mode("ocsf"))
    (['close', 'open'], ['close', 'open', 'update'])
    """
    return frozenset({"open", "close"}) if fmt == "slack" else frozenset(PHASES)


def phase_of(alert: AlertMessage, *, first: bool) -> str:
    """Which version of its alert a message is: ``close``, else ``open`` for the first
    message the dispatcher sees of the alert, else ``update``."""
    if alert.closed:
        return "close"
    return "open" if first else "update"


def describe_updates(phases: frozenset[str]) -> str:
    """``all``, or the phases in lifecycle order joined by commas.

    >>> describe_updates(frozenset(PHASES)), describe_updates(frozenset({"close", "open"}))
    ('all', 'open,close')
    """
    if phases == frozenset(PHASES):
        return "all"
    return ",".join(p for p in PHASES if p in phases)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """Timeouts, retries and concurrency for one route."""

    timeout_s: float = 10.0
    max_attempts: int = 10
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 300.0
    backoff_multiplier: float = 2.0
    retry_after_max_s: float = 600.0
    concurrency: int = 4


@dataclass(frozen=True, slots=True)
class Route:
    """One destination and the alerts it wants."""

    name: str
    url: str = field(repr=False)
    format: str = "native"
    secret: str | None = field(default=None, repr=False)
    min_severity: str = "low"
    detectors: frozenset[str] | None = None
    agencies: frozenset[str] | None = None
    updates: frozenset[str] | None = None
    """The phases this route receives (:data:`PHASES`); None: the format's default
    (:func:`default_update_mode`)."""
    allow_private: bool = False
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    routing_key: str | None = field(default=None, repr=False)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown webhook format {self.format!r}")
        if self.updates is None:
            object.__setattr__(self, "updates", default_update_mode(self.format))
        elif not self.updates or not self.updates <= frozenset(PHASES):
            raise ValueError(f"updates must be some of {', '.join(PHASES)}, got {self.updates!r}")

    @property
    def target(self) -> str:
        """The URL without path or query, safe to log."""
        return redacted_target(self.url)

    def wants(self, alert: AlertMessage, *, first: bool) -> bool:
        """Whether this route takes this alert message (filters, then its phase). An
        alert an exception silences goes to no route."""
        if alert.exception_id is not None:
            return False
        if alert.severity_rank < SEVERITIES.index(self.min_severity):
            return False
        if self.detectors is not None and alert.detector not in self.detectors:
            return False
        if self.agencies is not None and alert.agency not in self.agencies:
            return False
        return phase_of(alert, first=first) in (self.updates or ())


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Every route from one routes file."""

    source: Path
    routes: tuple[Route, ...]

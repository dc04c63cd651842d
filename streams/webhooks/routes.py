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
UPDATE_MODES = ("all", "first")


def default_update_mode(fmt: str) -> str:
    """Slack posts a chat message per delivery, so it gets each alert once by default.

    A SIEM wants every update (the evidence count grows), and PagerDuty folds
    updates into one incident by ``dedup_key``, so both get every message.

    >>> default_update_mode("slack"), default_update_mode("ocsf")
    ('first', 'all')
    """
    return "first" if fmt == "slack" else "all"


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
    updates: str = ""  # "" = the format's default (see default_update_mode)
    allow_private: bool = False
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    routing_key: str | None = field(default=None, repr=False)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown webhook format {self.format!r}")
        if not self.updates:
            object.__setattr__(self, "updates", default_update_mode(self.format))
        if self.updates not in UPDATE_MODES:
            raise ValueError(f"updates must be all or first, got {self.updates!r}")

    @property
    def target(self) -> str:
        """The URL without path or query, safe to log."""
        return redacted_target(self.url)

    def wants(self, alert: AlertMessage, *, first: bool) -> bool:
        """Whether this route takes this alert message (filters, then the update mode)."""
        if alert.severity_rank < SEVERITIES.index(self.min_severity):
            return False
        if self.detectors is not None and alert.detector not in self.detectors:
            return False
        if self.agencies is not None and alert.agency not in self.agencies:
            return False
        return first or self.updates == "all"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Every route from one routes file."""

    source: Path
    routes: tuple[Route, ...]

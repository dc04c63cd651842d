"""The console's own settings, built once by the CLI from flags and :class:`Settings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from streams.console.certificates import CertificateSource
from streams.retention import Retention
from streams.settings import PROJECT_ROOT, TopicNames

DEFAULT_USERS = PROJECT_ROOT / "config" / "console-users.yaml"
EXAMPLE_USERS = PROJECT_ROOT / "config" / "console-users.example.yaml"


def history_topic_for(triage_topic: str) -> str:
    """The append-only action log that goes with a compacted triage-state topic.

    >>> history_topic_for("frt.triage")
    'frt.triage.history'
    """
    return f"{triage_topic}.history"


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """Where the console listens, what it reads, and its security and memory bounds."""

    bootstrap: str = "127.0.0.1:9092"
    topics: TopicNames = field(default_factory=TopicNames)
    triage_history_topic: str = ""
    group_id: str = "frtwatch-console"
    partitions: int = 4
    retention: Retention = field(default_factory=Retention)
    """Retention of the alert and event topics, should the console create them."""
    host: str = "127.0.0.1"
    port: int = 8080
    users_path: Path = DEFAULT_USERS
    session_idle_s: float = 30 * 60
    session_max_s: float = 12 * 3600
    secure_cookies: bool = False
    max_alerts: int = 50_000
    activity_per_user: int = 25
    activity_max_users: int = 10_000
    activity_lookback_s: float = 24 * 3600
    login_max_failures: int = 5
    login_window_s: float = 300.0
    trusted_proxies: tuple[str, ...] = ()
    """Networks of reverse proxies whose ``X-Forwarded-For`` names the client."""
    external_url: str = ""
    """The URL browsers use (behind a TLS-terminating proxy); the Origin check uses it."""
    max_streams_per_session: int = 4
    certificates: CertificateSource | None = None
    """Where the user page's certificates come from (None: no status shown)."""
    worker_status_url: str = ""
    """The worker's ``/status`` (its behaviour-detection state; empty: not asked)."""

    @property
    def history_topic(self) -> str:
        return self.triage_history_topic or history_topic_for(self.topics.triage)

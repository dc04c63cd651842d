"""Everything one console process holds, in one object the views receive."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from streams.console.access import NO_ACCESS, Access
from streams.console.activity import ActivityStore
from streams.console.alert_store import AlertStore, StoredAlert
from streams.console.config import ConsoleConfig
from streams.console.exception_writer import ExceptionWriter
from streams.console.live import LiveHub
from streams.console.ratelimit import LoginRateLimiter
from streams.console.security import IPNetwork, client_address, parse_networks
from streams.console.sessions import Session, SessionStore
from streams.console.triage_book import TriageBook
from streams.console.triage_log import TriageLog
from streams.console.users import Account
from streams.console.worker_status import WorkerStatus
from streams.policy import CertificateRegistry


@dataclass(eq=False)
class Console:
    """The stores, sessions and live hub of one console; Kafka readers attach to it."""

    config: ConsoleConfig
    accounts: dict[str, Account]
    alerts: AlertStore
    activity: ActivityStore
    book: TriageBook
    sessions: SessionStore
    limiter: LoginRateLimiter
    hub: LiveHub = field(init=False)
    triage_log: TriageLog | None = None
    exception_writer: ExceptionWriter | None = None
    """Writes exceptions made on alert pages (None: not connected)."""
    certificates: CertificateRegistry | None = None
    """The certificate registry the user page judges (None: none loaded, status unknown)."""
    readiness: dict[str, asyncio.Event] = field(default_factory=dict)
    proxies: tuple[IPNetwork, ...] = field(init=False)
    worker: WorkerStatus = field(init=False)
    """The worker's behaviour-detection state (its ``/status``), for the pages' banner."""

    def __post_init__(self) -> None:
        self.hub = LiveHub(self.alert_view, self.book.status)
        self.proxies = parse_networks(self.config.trusted_proxies)
        self.worker = WorkerStatus(self.config.worker_status_url)

    def access_of(self, session: Session | None) -> Access:
        """The role and scope of a session's account (nothing for a removed or disabled one)."""
        account = self.accounts.get(session.user or "") if session is not None else None
        if account is None or account.disabled:
            return NO_ACCESS
        return account.access

    def client_address(self, request: web.Request) -> str:
        return client_address(request, self.proxies)

    @classmethod
    def build(
        cls,
        config: ConsoleConfig,
        accounts: dict[str, Account],
        certificates: CertificateRegistry | None = None,
    ) -> Console:
        return cls(
            config=config,
            accounts=accounts,
            alerts=AlertStore(max_alerts=config.max_alerts),
            activity=ActivityStore(
                per_user=config.activity_per_user,
                max_users=config.activity_max_users,
                retention_s=int(max(config.activity_lookback_s, 3600)),
            ),
            book=TriageBook(),
            sessions=SessionStore(idle_s=config.session_idle_s, max_age_s=config.session_max_s),
            limiter=LoginRateLimiter(
                max_failures=config.login_max_failures, window_s=config.login_window_s
            ),
            certificates=certificates,
        )

    def alert_view(self, stored: StoredAlert) -> dict[str, Any]:
        """An alert as the browser gets it: the contract fields plus triage and a change counter."""
        view = stored.alert.to_dict()
        view["triage"] = self.book.state(stored.alert.alert_id).to_dict()
        view["seq"] = stored.seq
        view["updates"] = stored.updates
        return view

    def triage_changed(self, alert_id: str) -> None:
        """A triage action was read from the log: tell the live feeds."""
        stored = self.alerts.get(alert_id)
        if stored is None:
            return
        stored.seq = self.alerts.next_seq()
        self.hub.alert_changed(stored, triage_only=True)

    def alert_changed(self, stored: StoredAlert) -> None:
        self.hub.alert_changed(stored)


CONSOLE_KEY = web.AppKey("console", Console)

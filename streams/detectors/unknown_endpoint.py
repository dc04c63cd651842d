"""``unknown_endpoint``: a search went to a service not approved for the user's agency.

"Approved" is per agency: a host approved only for SPD is unknown when MPD
uses it. Prohibited hosts are left to ``prohibited_endpoint``. The agency
remembers when it first used each unapproved host, so the alert says whether
this is the first time anyone in the agency has used it.
"""

from __future__ import annotations

from typing import Any

from streams.contract import SearchEvent
from streams.contract.alert import format_ts
from streams.detectors.detector import Detector, EventContext
from streams.detectors.phrasing import searches, who
from streams.detectors.state import Fold
from streams.policy import Policy

CACHE_CAP = 4096
"""(host, agency) verdicts remembered; cleared when full (hosts are untrusted input)."""


class UnknownEndpoint(Detector):
    name = "unknown_endpoint"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self._unknown: dict[tuple[str, str], bool] = {}

    def is_unknown(self, host: str, agency: str) -> bool:
        key = (host, agency)
        try:
            return self._unknown[key]
        except KeyError:
            if len(self._unknown) >= CACHE_CAP:
                self._unknown.clear()
            policy = self.policy
            verdict = not policy.is_authorised(host, agency) and policy.is_prohibited(host) is None
            self._unknown[key] = verdict
            return verdict

    def check(self, event: SearchEvent, ctx: EventContext) -> str | None:
        host = event.host
        if not self.is_unknown(host, event.agency):
            return None
        ctx.agency_state.note_host(host, event.ts)
        return host

    def approved_for(self, host: str) -> list[str]:
        """Agencies the host is approved for (empty: not on the approved list at all)."""
        agencies: set[str] = set()
        for endpoint in self.policy.authorised:
            if endpoint.host == host:
                agencies |= endpoint.agencies or set(self.policy.agencies)
        return sorted(agencies)

    def describe(
        self, event: SearchEvent, ctx: EventContext, fold: Fold
    ) -> tuple[str, dict[str, Any]]:
        host, agency = event.host, event.agency
        approved_for = self.approved_for(host)
        first_use = ctx.agency_state.hosts.get(host, fold.first_ts)
        first_time = first_use >= fold.first_ts
        what = (
            f"an FRT service approved only for {', '.join(approved_for)}"
            if approved_for
            else "an FRT service that is not on the approved list"
        )
        news = f", the first use of it in {agency}" if first_time else ""
        service = self.policy.service_of(host)
        named = f" ({service.name})" if service is not None else ""
        summary = (
            f"{who(event, fold)} searched {host}{named}, {what} ({searches(fold.count)}{news})."
        )
        return summary, {
            "host": host,
            "endpoint": event.endpoint,
            "vendor": service.name if service is not None else None,
            "service_kind": service.kind if service is not None else None,
            "approved_for": approved_for,
            "agency_first_used": format_ts(first_use),
            "first_time_for_agency": first_time,
        }

"""``prohibited_endpoint``: a search went to a known commercial third-party FRT service.

The policy lists such services by domain suffix (``clearview.ai`` covers
``app.clearview.ai``). The alert's subject is the host, so each service a
user reaches gets its own alert.
"""

from __future__ import annotations

from typing import Any

from streams.contract import SearchEvent
from streams.contract.alert import format_ts
from streams.detectors.detector import Detector, EventContext
from streams.detectors.phrasing import searches, who
from streams.detectors.state import Fold
from streams.policy import Policy

HOST_CACHE_CAP = 4096
"""Hosts remembered per detector; the cache is cleared when full (hosts are untrusted input)."""


class ProhibitedEndpoint(Detector):
    name = "prohibited_endpoint"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self._suffix_of: dict[str, str | None] = {}

    def suffix(self, host: str) -> str | None:
        """The prohibited suffix ``host`` falls under (cached: this runs for every event)."""
        try:
            return self._suffix_of[host]
        except KeyError:
            if len(self._suffix_of) >= HOST_CACHE_CAP:
                self._suffix_of.clear()
            suffix = self._suffix_of[host] = self.policy.is_prohibited(host)
            return suffix

    def check(self, event: SearchEvent, ctx: EventContext) -> str | None:
        host = event.host
        if self.suffix(host) is None:
            return None
        ctx.agency_state.note_host(host, event.ts)
        return host

    def describe(
        self, event: SearchEvent, ctx: EventContext, fold: Fold
    ) -> tuple[str, dict[str, Any]]:
        host = event.host
        first_use = ctx.agency_state.hosts.get(host, fold.first_ts)
        service = self.policy.service_of(host)
        named = f" ({service.name})" if service is not None else ""
        summary = (
            f"{who(event, fold)} searched {host}{named}, a prohibited commercial FRT service "
            f"({searches(fold.count)})."
        )
        return summary, {
            "host": host,
            "endpoint": event.endpoint,
            "vendor": service.name if service is not None else None,
            "service_kind": service.kind if service is not None else None,
            "prohibited_suffix": self.suffix(host),
            "agency_first_used": format_ts(first_use),
            "first_time_for_agency": first_use >= fold.first_ts,
        }

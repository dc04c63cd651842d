"""``outside_agency``: a search on behalf of an agency the user's agency may not search for.

Searching for one's own agency is always allowed; anything else needs the
pair in the policy (``may_search_for``). The subject is the requesting
agency, so each outside agency gets its own alert.
"""

from __future__ import annotations

from typing import Any

from streams.contract import SearchEvent
from streams.detectors.detector import Detector, EventContext
from streams.detectors.phrasing import searches, who
from streams.detectors.state import Fold


class OutsideAgency(Detector):
    name = "outside_agency"

    def check(self, event: SearchEvent, ctx: EventContext) -> str | None:
        requester = event.on_behalf_of
        if requester == event.agency or self.policy.may_search_for(event.agency, requester):
            return None
        return requester

    def describe(
        self, event: SearchEvent, ctx: EventContext, fold: Fold
    ) -> tuple[str, dict[str, Any]]:
        known = self.policy.agencies.get(event.agency)
        allowed = sorted(known.may_search_for) if known is not None else []
        summary = (
            f"{who(event, fold)} searched on behalf of {event.on_behalf_of}, an agency "
            f"{event.agency} may not search for ({searches(fold.count)})."
        )
        return summary, {
            "requesting_agency": event.on_behalf_of,
            "agency_known": known is not None,
            "may_search_for": allowed,
        }

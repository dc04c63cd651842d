"""``missing_case_number``: a search with no case number and no exempt purpose.

Only the purposes the policy names (e.g. ``training``) need no case number;
an absent purpose is not exempt, and "test" or "curiosity" searches are
exactly the tinkering this detector exists to catch.
"""

from __future__ import annotations

from typing import Any

from streams.contract import SearchEvent
from streams.detectors.detector import Detector, EventContext
from streams.detectors.phrasing import searches, who
from streams.detectors.state import Fold
from streams.policy import CaseNumberSettings, Policy


class MissingCaseNumber(Detector):
    name = "missing_case_number"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        settings = policy.missing_case_number
        assert isinstance(settings, CaseNumberSettings)
        self.exempt = settings.exempt_purposes

    def check(self, event: SearchEvent, ctx: EventContext) -> str | None:
        if event.case_number is not None:
            return None
        purpose = event.purpose
        if purpose is not None and purpose.strip().lower() in self.exempt:
            return None
        return ""

    def describe(
        self, event: SearchEvent, ctx: EventContext, fold: Fold
    ) -> tuple[str, dict[str, Any]]:
        stated = "no purpose" if event.purpose is None else "a purpose that is not exempt"
        summary = (
            f"{who(event)} searched without a case number, giving {stated} "
            f"({searches(fold.count)})."
        )
        return summary, {"purpose": event.purpose, "exempt_purposes": sorted(self.exempt)}

"""What every event detector looks like, and the per-event facts they share.

A detector answers two questions. :meth:`Detector.check` runs for every
event and must be cheap: is this event evidence, and about what *subject*
(the host, the requesting agency, or ``""``)? :meth:`Detector.describe` runs
only when an alert is emitted (a few times per alert) and builds the
analyst-facing sentence and details. Keeping the wording out of the hot path
is what lets the engine judge tens of thousands of events a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from streams.contract import SearchEvent
from streams.detectors.state import AgencyState, Fold, UserState
from streams.policy import CertificateRegistry, DetectorSettings, Policy


class EventContext:
    """Facts about the event being judged, filled in by the engine (one per engine, reused).

    ``counted`` is False for a late event: rules still apply but rates do not
    change, so ``window_count`` and ``bucket`` are only meaningful when True.
    """

    __slots__ = (
        "agency_state",
        "bucket",
        "certificates",
        "counted",
        "scratch",
        "user_state",
        "window_count",
    )

    def __init__(self, certificates: CertificateRegistry) -> None:
        self.certificates = certificates
        self.user_state = UserState()
        self.agency_state = AgencyState()
        self.counted = False
        self.bucket = 0
        self.window_count = 0
        # Whatever a detector's check worked out that its describe needs again.
        self.scratch: Any = None


class Detector:
    """Base of the per-event detectors. Subclasses set ``name`` and implement two methods."""

    name: ClassVar[str]

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.settings: DetectorSettings = policy.detector(self.name)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    @property
    def severity(self) -> str:
        return self.settings.severity

    def check(self, event: SearchEvent, ctx: EventContext) -> str | None:
        """The alert subject if ``event`` is evidence for this detector, else None."""
        raise NotImplementedError

    def describe(
        self, event: SearchEvent, ctx: EventContext, fold: Fold
    ) -> tuple[str, dict[str, Any]]:
        """One-sentence summary and details for the alert ``fold`` that ``event`` just fed."""
        raise NotImplementedError

    def prior_evidence(
        self, event: SearchEvent, ctx: EventContext, since: float
    ) -> Sequence[tuple[float, str]]:
        """Earlier ``(ts, event_id)`` evidence (at or after ``since``) for a newly opened alert."""
        return ()

    def opening_count(self, ctx: EventContext, prior: Sequence[tuple[float, str]]) -> int:
        """How many searches a newly opened alert counts: the event and its prior evidence,
        unless the detector knows of more than it keeps ids for (a burst's window)."""
        return len(prior) + 1

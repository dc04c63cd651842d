"""The per-event detectors, in the order the engine runs them.

Adding a detector here is all it takes for the engine to run it and for the
contract test to check it.
"""

from __future__ import annotations

from streams.detectors.burst import Burst
from streams.detectors.detector import Detector
from streams.detectors.missing_case_number import MissingCaseNumber
from streams.detectors.outside_agency import OutsideAgency
from streams.detectors.prohibited_endpoint import ProhibitedEndpoint
from streams.detectors.uncertified_user import UncertifiedUser
from streams.detectors.unknown_endpoint import UnknownEndpoint

EVENT_DETECTORS: tuple[type[Detector], ...] = (
    ProhibitedEndpoint,
    UnknownEndpoint,
    OutsideAgency,
    UncertifiedUser,
    MissingCaseNumber,
    Burst,
)

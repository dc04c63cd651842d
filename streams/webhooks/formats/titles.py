"""Short human titles for detectors, shared by the formats that show a headline."""

from __future__ import annotations

_TITLES = {
    "prohibited_endpoint": "Search on a prohibited facial-recognition service",
    "unknown_endpoint": "Search on an unapproved facial-recognition service",
    "outside_agency": "Facial-recognition search for an outside agency",
    "uncertified_user": "Facial-recognition search by an uncertified user",
    "missing_case_number": "Facial-recognition search without a case number",
    "burst": "Burst of facial-recognition searches",
    "behavior_anomaly": "Unusual facial-recognition search behaviour",
}


def detector_title(detector: str) -> str:
    """A headline for a detector; unknown detectors get their name spelled out.

    >>> detector_title("burst")
    'Burst of facial-recognition searches'
    >>> detector_title("new_detector")
    'New detector'
    """
    return _TITLES.get(detector) or detector.replace("_", " ").capitalize()

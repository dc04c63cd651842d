"""missing_case_number: only the policy's exempt purposes may go without a case number."""

from __future__ import annotations

import pytest

from tests.unit.detectors.factories import at, make_event


@pytest.mark.parametrize(
    ("case_number", "purpose", "fires"),
    [
        ("MPD-2026-004211", "investigation", False),
        (None, "investigation", True),
        ("   ", "investigation", True),  # blank is none
        (None, "training", False),  # exempt in config/policy.yaml
        (None, "  Training ", False),  # compared trimmed and lower-cased
        (None, "test", True),
        (None, ..., True),  # no purpose at all is not exempt
        ("MPD-2026-004211", ..., False),
    ],
)
def test_case_number_rules(run, case_number, purpose, fires):
    r = run()
    r.feed([make_event(at(0, 10), case_number=case_number, purpose=purpose)])
    assert bool(r.of("missing_case_number")) is fires


def test_details_and_summary(run):
    r = run()
    r.feed([make_event(at(0, 10), case_number=None, purpose="curiosity")])
    (alert,) = r.of("missing_case_number")
    assert alert.details == {"purpose": "curiosity", "exempt_purposes": ["training"]}
    assert alert.summary == (
        "MPD user mpd-0012 searched without a case number, giving a purpose that is not "
        "exempt (1 search)."
    )

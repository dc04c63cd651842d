"""One contract, every detector: what any alert must honour, whichever detector raised it.

Adding a detector to ``DETECTORS`` without a scenario here fails
``test_every_detector_has_a_scenario``, so new detectors get these checks for free.
"""

from __future__ import annotations

import re
from datetime import datetime

import orjson
import pytest

from streams.contract import DETECTORS, SEVERITIES, Alert, make_alert_id
from streams.contract.alert import ALERT_SCHEMA
from streams.detectors import Engine, ScoreRequest
from streams.detectors.folding import AGENCY_WIDE
from streams.detectors.rules import EVENT_DETECTORS
from streams.policy import CertificateRegistry, Policy
from tests.unit.detectors.factories import Run, at, certify, make_event, with_detector

USER = "mpd-0012"


def events_for(detector: str):
    """Events that are evidence for ``detector`` and nothing else (the user is certified)."""
    t = at(3, 10)
    if detector == "prohibited_endpoint":
        return [make_event(t + i, endpoint="https://app.clearview.ai/s") for i in range(3)]
    if detector == "unknown_endpoint":
        return [make_event(t + i, endpoint="faces.example.org") for i in range(3)]
    if detector == "outside_agency":
        return [make_event(t + i, on_behalf_of="CSO") for i in range(3)]
    if detector == "uncertified_user":
        return [make_event(t + i, user="mpd-9999") for i in range(3)]
    if detector == "missing_case_number":
        return [make_event(t + i, case_number=None, purpose="test") for i in range(3)]
    if detector == "burst":  # a user seen a week earlier, so not a cold start
        return [make_event(t - 8 * 86400)] + [make_event(t + 60 * i) for i in range(20)]
    if detector == "behavior_anomaly":
        return [make_event(t + 600 * i) for i in range(12)]
    raise AssertionError(f"no scenario for {detector}")


def trigger(policy: Policy, detector: str, events=None) -> tuple[list[Alert], Run]:
    registry = certify(CertificateRegistry(), f"MPD/{USER}")
    r = Run(Engine(policy, registry))
    events = events_for(detector) if events is None else events
    r.feed(events)
    if detector == "behavior_anomaly":
        state = r.users[f"MPD/{USER}"]
        requests = [o.score_request for o in r.outcomes if o.score_request is not None]
        for request in requests:
            state, alerts = r.engine.apply_score(
                state, request, 0.9, 0.6, ["many searches at night"]
            )
            r.alerts.extend(alerts)
    return r.alerts, r


def sample_policy(policy: Policy, detector: str, **changes) -> Policy:
    # A severity no detector has by default, to prove it comes from the policy.
    return with_detector(policy, detector, **{"severity": "low", **changes})


def test_every_detector_has_a_scenario():
    assert {cls.name for cls in EVENT_DETECTORS} | {"behavior_anomaly"} == set(DETECTORS)
    for name in DETECTORS:
        assert events_for(name)


@pytest.fixture(params=DETECTORS)
def detector(request) -> str:
    return request.param


def test_fires_alone_with_policy_severity(policy, detector):
    alerts, _ = trigger(sample_policy(policy, detector), detector)
    assert alerts, f"{detector} did not fire"
    assert {a.detector for a in alerts} == {detector}, "the scenario tripped other detectors"
    assert {a.severity for a in alerts} == {"low"}


def test_disabled_detector_is_silent(policy, detector):
    alerts, r = trigger(sample_policy(policy, detector, enabled=False), detector)
    assert not alerts
    if detector == "behavior_anomaly":
        assert all(o.score_request is None for o in r.outcomes)


SENTENCE_BREAK = re.compile(r"[.!?]\s+\S")


def test_alerts_are_valid_frt_alert_v1(policy, detector):
    alerts, _ = trigger(sample_policy(policy, detector), detector)
    for alert in alerts:
        obj = orjson.loads(alert.to_json())
        assert obj["schema"] == ALERT_SCHEMA
        assert set(obj) == {
            "schema", "alert_id", "detector", "severity", "agency", "user", "first_seen",
            "last_seen", "event_count", "event_ids", "summary", "details", "status",
        }  # fmt: skip
        assert obj["status"] == "open"  # nothing closes them: no later event
        assert re.fullmatch(r"[0-9a-f]{32}", obj["alert_id"])
        assert obj["detector"] in DETECTORS and obj["severity"] in SEVERITIES
        assert (obj["agency"], obj["user"]) == ("MPD", alert.user)
        first = datetime.fromisoformat(obj["first_seen"])
        last = datetime.fromisoformat(obj["last_seen"])
        assert obj["first_seen"].endswith("Z") and first <= last
        assert isinstance(obj["event_count"], int) and obj["event_count"] >= 1
        ids = obj["event_ids"]
        assert 1 <= len(ids) <= min(100, obj["event_count"])
        assert all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids)
        assert isinstance(obj["details"], dict) and obj["details"]
        assert Alert.from_dict(obj).to_dict() == obj


def test_summary_is_one_plain_sentence(policy, detector):
    alerts, _ = trigger(sample_policy(policy, detector), detector)
    for alert in alerts:
        text = alert.summary
        assert text.endswith(".") and text[0].isupper()
        assert "\n" not in text and len(text) <= 300
        assert not SENTENCE_BREAK.search(text), text
        assert f"{alert.agency} user {alert.user}" in text


def test_ids_are_deterministic(policy, detector):
    events = events_for(detector)
    first, _ = trigger(sample_policy(policy, detector), detector, events)
    again, _ = trigger(sample_policy(policy, detector), detector, events)
    assert first and [a.alert_id for a in first] == [a.alert_id for a in again]
    subject = {
        "prohibited_endpoint": "app.clearview.ai",
        "unknown_endpoint": "faces.example.org",
        "outside_agency": "CSO",
    }.get(detector, "")
    for alert in first:  # an alert is named by its opening evidence, the first of its ids
        opened_by = alert.event_ids[0]
        member = AGENCY_WIDE if alert.details.get("alert_per") == "agency" else alert.user
        assert alert.alert_id == make_alert_id(
            detector, "MPD", member, subject, alert.first_seen, opened_by
        )


def test_emissions_per_alert_are_few(policy, detector):
    alerts, _ = trigger(sample_policy(policy, detector), detector)
    by_id: dict[str, list[int]] = {}
    for alert in alerts:
        by_id.setdefault(alert.alert_id, []).append(alert.event_count)
    for counts in by_id.values():
        assert counts == sorted(counts) and len(set(counts)) == len(counts)
        assert len(counts) <= 1 + max(counts).bit_length()


def test_apply_score_below_threshold_is_silent(policy):
    engine = Engine(policy, CertificateRegistry())
    state = engine.process(None, None, make_event(at(0, 9))).user_state
    request = ScoreRequest("MPD", USER, "e1", at(0, 9), [0.0] * 8)
    assert engine.apply_score(state, request, 0.59, 0.6, []) == (state, [])
    _, alerts = engine.apply_score(state, request, 0.6, 0.6, [])
    assert len(alerts) == 1
    assert engine.apply_score(state, request, 0.7, 0.6, [])[1] == [], "same request twice"


def test_behaviour_summary_leads_with_the_first_reason(policy):
    engine = Engine(policy, CertificateRegistry())
    state = engine.process(None, None, make_event(at(0, 9))).user_state
    request = ScoreRequest("MPD", USER, "e1", at(0, 9), [0.1] * 8)
    reasons = [
        "82% of recent searches off-hours, 22:00-06:00 local time (normal: under 10%)",
        "35% of recent searches found no candidates (normal: under 30%)",
    ]
    _, (alert,) = engine.apply_score(state, request, 0.71, 0.6, reasons)
    assert alert.summary == (
        "MPD user mpd-0012's recent searches look unusual for them (anomaly score 0.71, "
        "threshold 0.60): 82% of recent searches off-hours, 22:00-06:00 local time "
        "(normal: under 10%)."
    )
    assert alert.details["reasons"] == reasons
    assert alert.details["features"]["off_hours_share"] == 0.1
    assert alert.severity == policy.behavior_anomaly.severity

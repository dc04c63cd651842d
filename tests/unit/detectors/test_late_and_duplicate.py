"""Redelivered duplicates change nothing; late events are judged but not counted in rates."""

from __future__ import annotations

import dataclasses

from streams.detectors import AgencyState, Engine, UserState
from tests.unit.detectors.factories import HOUR, at, make_event


def test_duplicate_changes_no_state_and_raises_no_alert(run):
    r = run()
    event = make_event(at(0, 10), endpoint="app.clearview.ai")
    first = r.feed([event])
    assert [a.event_count for a in first if a.detector == "prohibited_endpoint"] == [1]
    before = r.users["MPD/mpd-0012"].to_bytes(), r.agencies["MPD"].to_bytes()
    again = r.engine.process(r.users["MPD/mpd-0012"], r.agencies["MPD"], event)
    assert again.duplicate and not again.alerts and again.score_request is None
    assert (again.user_state.to_bytes(), again.agency_state.to_bytes()) == before


def test_duplicate_after_a_state_roundtrip_is_still_caught(policy, registry):
    engine = Engine(policy, registry)
    event = make_event(at(0, 10))
    out = engine.process(None, None, event)
    user = UserState.from_bytes(out.user_state.to_bytes())
    agency = AgencyState.from_bytes(out.agency_state.to_bytes())
    assert engine.process(user, agency, event).duplicate


def test_duplicate_with_different_content_is_still_a_duplicate(run):
    r = run()
    event = make_event(at(0, 10))
    r.feed([event])
    replay = dataclasses.replace(event, endpoint="app.clearview.ai", host="app.clearview.ai")
    out = r.engine.process(r.users["MPD/mpd-0012"], r.agencies["MPD"], replay)
    assert out.duplicate and not out.alerts


def test_late_event_is_judged_but_not_counted(run):
    r = run()  # allowed lateness: 1 hour
    r.feed([make_event(at(0, 12))])
    user = r.users["MPD/mpd-0012"]
    counted = sum(user.fine), user.pending_count, list(user.slot_counts)
    agency = list(r.agencies["MPD"].counts), list(r.agencies["MPD"].members)

    late = make_event(at(0, 12) - HOUR - 1, endpoint="pimeyes.com")
    (alert,) = r.feed([late])
    out = r.outcomes[-1]
    assert out.late and not out.duplicate
    assert alert.detector == "prohibited_endpoint"
    assert alert.first_seen == late.ts
    assert (sum(user.fine), user.pending_count, list(user.slot_counts)) == counted
    assert (r.agencies["MPD"].counts, r.agencies["MPD"].members) == agency
    assert user.newest == at(0, 12)
    # ...but it is remembered, so its redelivery is a duplicate.
    assert r.engine.process(user, r.agencies["MPD"], late).duplicate


def test_out_of_order_within_lateness_is_counted(run):
    r = run()
    r.feed([make_event(at(0, 12))])
    r.feed([make_event(at(0, 12) - HOUR + 1)])
    assert not r.outcomes[-1].late
    assert sum(r.users["MPD/mpd-0012"].fine) + r.users["MPD/mpd-0012"].pending_count == 2
    assert r.users["MPD/mpd-0012"].newest == at(0, 12)


def test_lateness_is_configurable(run):
    r = run(allowed_lateness_s=60)
    r.feed([make_event(at(0, 12)), make_event(at(0, 12) - 61)])
    assert r.outcomes[-1].late

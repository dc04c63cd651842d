"""State records stay small and bounded, and survive serialisation exactly."""

from __future__ import annotations

import dataclasses
import random

import pytest

from streams.detectors import AgencyState, Engine, StateFormatError, UserState
from streams.detectors.state import (
    AGENCY_HOST_CAP,
    BASELINE_SLOTS,
    DEDUPE_CAP,
    FINE_BUCKETS,
    FOLD_CAP,
    FOLD_EVIDENCE_CAP,
    RECENT_CAP,
)
from tests.unit.detectors.factories import HOUR, Run, at, make_event, with_detector

TYPICAL_STATE_LIMIT = 1024


def regular_user_events(days: int = 14, seed: int = 3):
    """A regular detective: 4-12 searches on working days, 09:00-18:00, all by the rules."""
    rng = random.Random(seed)
    events = []
    for day in range(days):
        if day % 7 in (5, 6):
            continue
        for _ in range(rng.randint(4, 12)):
            ts = at(day, 9) + rng.uniform(0, 9 * HOUR)
            events.append(
                make_event(
                    ts,
                    case_number=f"MPD-2026-{rng.randrange(10**6):06d}",
                    result_count=rng.randint(0, 9),
                )
            )
    return sorted(events, key=lambda e: e.ts)


def test_typical_user_state_is_at_most_1_kb(run):
    r = run()
    r.feed(regular_user_events())
    size = len(r.users["MPD/mpd-0012"].to_bytes())
    assert size <= TYPICAL_STATE_LIMIT, f"{size} bytes"
    assert len(r.agencies["MPD"].to_bytes()) <= 256


def test_roundtrip_is_exact_and_changes_no_verdict(run):
    events = regular_user_events(days=10) + [
        make_event(at(10, 10, i), endpoint="app.clearview.ai", case_number=None) for i in range(5)
    ]
    plain, stored = run(), run()
    stored.roundtrip = True
    plain.feed(events)
    stored.feed(events)
    assert [a.to_dict() for a in stored.alerts] == [a.to_dict() for a in plain.alerts]
    data = plain.users["MPD/mpd-0012"].to_bytes()
    assert UserState.from_bytes(data).to_bytes() == data
    agency = plain.agencies["MPD"].to_bytes()
    assert AgencyState.from_bytes(agency).to_bytes() == agency


def test_state_stays_bounded_under_100k_events_for_one_user(policy, registry):
    rng = random.Random(11)
    engine = Engine(policy, registry)
    user = agency = None
    sizes = []
    recent_ids: list[str] = []
    for i in range(100_000):
        ts = at(0) + i * 40 + rng.uniform(0, 30)  # ~46 days, bursts included
        roll = rng.random()
        fields: dict = {}
        if roll < 0.05:
            fields["endpoint"] = f"https://h{rng.randrange(500)}.clearview.ai/x"
        elif roll < 0.10:
            fields["endpoint"] = f"h{rng.randrange(500)}.unknown.example"
        elif roll < 0.12:
            fields["on_behalf_of"] = f"A{rng.randrange(50)}"
        elif roll < 0.14:
            fields["case_number"] = None
        if rng.random() < 0.02:
            ts -= rng.uniform(0, 3 * HOUR)  # late, sometimes beyond the allowed lateness
        event = make_event(ts, **fields)
        if recent_ids and rng.random() < 0.02:
            event = dataclasses.replace(event, event_id=rng.choice(recent_ids))  # redelivery
        recent_ids = [*recent_ids, event.event_id][-20:]
        out = engine.process(user, agency, event)
        user, agency = out.user_state, out.agency_state
        if i % 1000 == 0:
            sizes.append(len(user.to_bytes()))
    assert user is not None and agency is not None
    assert user.remembered == DEDUPE_CAP
    assert len(user.folds) <= FOLD_CAP
    assert all(len(f.event_ids) <= FOLD_EVIDENCE_CAP for f in user.folds.values())
    assert len(user.recent) <= RECENT_CAP
    assert len(user.fine) == FINE_BUCKETS and len(user.slot_counts) == BASELINE_SLOTS + 1
    assert len(agency.hosts) <= AGENCY_HOST_CAP
    assert max(sizes) <= 8 * 1024, max(sizes)
    # No growth trend: the second half is no bigger than the first.
    half = len(sizes) // 2
    assert max(sizes[half:]) <= max(sizes[:half]) * 1.25


def test_unknown_version_and_garbage_are_refused():
    data = UserState().to_bytes()
    with pytest.raises(StateFormatError, match="version 99"):
        UserState.from_bytes(b"[99" + data[2:])
    for bad in (b"", b"{}", b"[1,2,3]", b"not json"):
        with pytest.raises(StateFormatError):
            UserState.from_bytes(bad)
        with pytest.raises(StateFormatError):
            AgencyState.from_bytes(bad)


def test_changing_the_window_resets_rates_but_keeps_dedupe(policy, registry):
    events = [make_event(at(0, 9, i)) for i in range(10)]
    first = Run(Engine(policy, registry))
    first.feed(events)
    user = first.users["MPD/mpd-0012"]
    assert sum(user.fine) == 10
    wider = Engine(with_detector(policy, "burst", window_s=7200.0), registry)
    out = wider.process(user, first.agencies["MPD"], make_event(at(0, 9, 30)))
    assert sum(out.user_state.fine) == 1 and out.user_state.geometry[0] == 600.0
    assert wider.process(out.user_state, out.agency_state, events[0]).duplicate


def test_dedupe_ring_matches_whole_hashes_only():
    state = UserState()
    state.remember(b"\x00\x00\x00ab")
    state.remember(b"cde\x00\x00")
    # "abcde" straddles the two stored hashes: it was never seen.
    assert not state.has_seen(b"abcde")
    assert state.has_seen(b"cde\x00\x00") and state.has_seen(b"\x00\x00\x00ab")
    for i in range(DEDUPE_CAP):
        state.remember(i.to_bytes(5, "big"))
    assert state.remembered == DEDUPE_CAP
    assert not state.has_seen(b"\x00\x00\x00ab")
    assert state.has_seen((DEDUPE_CAP - 1).to_bytes(5, "big"))

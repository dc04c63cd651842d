"""Ordinary traffic breaks no rule; roles behave as described; decoys look alarming but are allowed."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from typing import Any

from streams.contract import SearchEvent
from streams.contract.event import parse_timestamp
from tests.unit.simulate.conftest import WrittenWorld
from tests.unit.simulate.rules import broken_rules, max_per_window

DAYS = 14


def _surge(world: WrittenWorld) -> dict[str, Any]:
    (surge,) = [d for d in world.truth["decoys"] if d["kind"] == "agency_surge"]
    return surge


def _in_surge(world: WrittenWorld, event: SearchEvent) -> bool:
    surge = _surge(world)
    return event.agency == surge["agency"] and (
        parse_timestamp(surge["start"]) <= event.ts <= parse_timestamp(surge["end"])
    )


def _ordinary_by_user(world: WrittenWorld) -> dict[tuple[str, str], list[SearchEvent]]:
    """Each user's searches outside incidents and outside the surge."""
    evidence = world.incident_ids()
    out: dict[tuple[str, str], list[SearchEvent]] = defaultdict(list)
    for e in world.events:
        if e.event_id not in evidence and not _in_surge(world, e):
            out[(e.agency, e.user)].append(e)
    return out


def _roles(world: WrittenWorld) -> dict[tuple[str, str], str]:
    return {(u["agency"], u["user"]): u["role"] for u in world.truth["users"]}


def test_background_breaks_no_rule(default_world: WrittenWorld) -> None:
    evidence = default_world.incident_ids()
    background = [e for e in default_world.events if e.event_id not in evidence]
    assert len(background) > 0.9 * len(default_world.events)
    for event in background:
        assert not broken_rules(event, default_world.policy, default_world.certificates), event


def test_only_mou_decoys_search_for_other_agencies(default_world: WrittenWorld) -> None:
    evidence = default_world.incident_ids()
    decoys = [d for d in default_world.truth["decoys"] if d["kind"] == "mou_request"]
    assert decoys
    allowed = {(d["agency"], u): d for d in decoys for u in d["users"]}
    requests = [e for e in default_world.events
                if e.event_id not in evidence and e.on_behalf_of != e.agency]  # fmt: skip
    assert requests
    for event in requests:
        decoy = allowed[(event.agency, event.user)]
        assert decoy["must_not_fire"] == ["outside_agency"]
        assert decoy["start"] <= event.ts_text <= decoy["end"]
        assert default_world.policy.may_search_for(event.agency, event.on_behalf_of)


def test_ordinary_users_never_reach_the_burst_floor(default_world: WrittenWorld) -> None:
    roles = _roles(default_world)
    floor = default_world.policy.burst.min_count
    window = default_world.policy.burst.window_s
    for key, events in _ordinary_by_user(default_world).items():
        if roles[key] != "analyst":
            assert max_per_window([e.ts for e in events], window) < floor, key


def test_occasional_users_search_less_than_once_a_day(default_world: WrittenWorld) -> None:
    roles = _roles(default_world)
    ordinary = _ordinary_by_user(default_world)
    occasional = [k for k, r in roles.items() if r == "occasional"]
    rates = [len(ordinary.get(k, [])) / DAYS for k in occasional]
    assert len(occasional) > 50
    assert statistics.mean(rates) < 0.5
    assert max(rates) < 1.0


def test_regular_users_search_a_few_times_a_day(default_world: WrittenWorld) -> None:
    roles = _roles(default_world)
    ordinary = _ordinary_by_user(default_world)
    rates = [len(v) / DAYS for k, v in ordinary.items() if roles[k] == "regular"]
    assert 2.0 < statistics.mean(rates) < 6.0


def test_analysts_search_in_clusters_of_about_thirty_an_hour(default_world: WrittenWorld) -> None:
    roles = _roles(default_world)
    ordinary = _ordinary_by_user(default_world)
    analysts = [k for k, r in roles.items() if r == "analyst"]
    assert len(analysts) >= 10
    for key in analysts:
        times = [e.ts for e in ordinary[key]]
        assert 20 <= max_per_window(times, 3600) <= 32, key
        assert len(times) / DAYS > 40
        # Clusters with breaks: many gaps of a few minutes, some of a quarter hour or more.
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert statistics.median(gaps) < 240
        assert sum(600 <= g < 3 * 3600 for g in gaps) >= DAYS


def test_work_happens_in_shifts_with_days_off(default_world: WrittenWorld) -> None:
    for events in _ordinary_by_user(default_world).values():
        hours = {int(e.ts // 3600) % 24 for e in events}
        assert hours <= set(range(5, 24)), "ordinary searching happens on day or evening shifts"
    roles = _roles(default_world)
    for key, events in _ordinary_by_user(default_world).items():
        if roles[key] == "analyst":
            days = {int(e.ts // 86400) for e in events}
            assert len(days) <= DAYS - 2, "analysts have days off too"


def test_steady_analyst_decoys_cover_the_analysts(default_world: WrittenWorld) -> None:
    roles = _roles(default_world)
    decoys = [d for d in default_world.truth["decoys"] if d["kind"] == "steady_analyst"]
    listed = {(d["agency"], u) for d in decoys for u in d["users"]}
    assert listed == {k for k, r in roles.items() if r == "analyst"}
    assert all(d["must_not_fire"] == ["burst"] for d in decoys)


def test_agency_surge_lifts_everyone_together(default_world: WrittenWorld) -> None:
    world = default_world
    surge = _surge(world)
    assert surge["must_not_fire"] == ["burst"]
    start, end = parse_timestamp(surge["start"]), parse_timestamp(surge["end"])
    assert 2.5 * 3600 <= end - start <= 5 * 3600
    members = set(surge["users"])
    staff = {u["user"] for u in world.truth["users"] if u["agency"] == surge["agency"]}
    assert len(members) >= 0.75 * len(staff)
    in_window = [e for e in world.events if _in_surge(world, e)]
    # The agency searches several times as much as in the same hours of other weekdays.
    run_start, run_end = parse_timestamp(world.truth["start"]), parse_timestamp(world.truth["end"])
    others = []
    for shift in (-7 * 86400, -6 * 86400, -5 * 86400, -86400, 86400):
        first, last = start + shift, end + shift
        if run_start <= first and last < run_end:
            others.append(sum(1 for e in world.events
                              if e.agency == surge["agency"] and first <= e.ts <= last))  # fmt: skip
    assert others and len(in_window) >= 3 * statistics.mean(others)
    # Many members pass the burst floor, yet none stands out from the others by 4x.
    counts = defaultdict(list)
    for e in in_window:
        counts[e.user].append(e.ts)
    peaks = {u: max_per_window(ts, 3600) for u, ts in counts.items()}
    assert sum(p >= world.policy.burst.min_count for p in peaks.values()) >= 5
    assert max(peaks.values()) < 4 * statistics.median(peaks.values())

"""truth.json agrees with the events, covers every detector, and incidents break one rule."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from streams.contract import DETECTORS
from tests.unit.simulate.conftest import WrittenWorld, write_world
from tests.unit.simulate.rules import broken_rules, max_per_window

RULES = {"prohibited_endpoint", "unknown_endpoint", "outside_agency", "uncertified_user",
         "missing_case_number"}  # fmt: skip


@pytest.fixture(params=["default_world", "small_world"])
def world(request: pytest.FixtureRequest) -> WrittenWorld:
    world: WrittenWorld = request.getfixturevalue(request.param)
    return world


def test_incident_evidence_exists_and_spans_exactly(world: WrittenWorld) -> None:
    by_id = world.by_id
    seen: set[str] = set()
    for incident in world.truth["incidents"]:
        ids = incident["event_ids"]
        assert ids, incident["id"]
        assert not seen & set(ids), "an event is evidence of two incidents"
        seen |= set(ids)
        events = [by_id[i] for i in ids]
        assert {e.agency for e in events} == {incident["agency"]}
        assert {e.user for e in events} == set(incident["users"])
        assert incident["start"] == min(events, key=lambda e: e.ts).ts_text
        assert incident["end"] == max(events, key=lambda e: e.ts).ts_text
        assert incident["detector"] in DETECTORS


def test_ids_and_kinds(world: WrittenWorld) -> None:
    incidents, decoys = world.truth["incidents"], world.truth["decoys"]
    assert [i["id"] for i in incidents] == [f"inc-{n:03d}" for n in range(1, len(incidents) + 1)]
    assert len({d["id"] for d in decoys}) == len(decoys)
    assert {d["kind"] for d in decoys} == {"steady_analyst", "agency_surge", "mou_request"}
    for decoy in decoys:
        assert decoy["must_not_fire"] and set(decoy["must_not_fire"]) <= set(DETECTORS)
        assert decoy["start"] <= decoy["end"]


def test_every_detector_has_an_incident(world: WrittenWorld) -> None:
    detectors = Counter(i["detector"] for i in world.truth["incidents"])
    assert set(detectors) == set(DETECTORS)
    kinds = {i["kind"] for i in world.truth["incidents"]}
    assert {"commercial_ring", "loud_burst", "quiet_burst", "certificate_expired",
            "never_certified", "curiosity_searches"} <= kinds  # fmt: skip


def test_rule_incidents_break_their_rule_and_no_other(world: WrittenWorld) -> None:
    by_id = world.by_id
    for incident in world.truth["incidents"]:
        expected = {incident["detector"]} & RULES
        for event_id in incident["event_ids"]:
            broken = broken_rules(by_id[event_id], world.policy, world.certificates)
            assert broken == expected, (incident["id"], incident["kind"], broken)


def test_subjects_name_what_the_detector_reports(world: WrittenWorld) -> None:
    by_id = world.by_id
    for incident in world.truth["incidents"]:
        events = [by_id[i] for i in incident["event_ids"]]
        if incident["detector"] in ("prohibited_endpoint", "unknown_endpoint"):
            assert {e.host for e in events} == {incident["subject"]}
        elif incident["detector"] == "outside_agency":
            assert {e.on_behalf_of for e in events} == {incident["subject"]}
        else:
            assert incident["subject"] == ""


def test_commercial_ring_is_several_users_of_one_agency(default_world: WrittenWorld) -> None:
    (ring,) = [i for i in default_world.truth["incidents"] if i["kind"] == "commercial_ring"]
    assert ring["detector"] == "prohibited_endpoint"
    assert ring["subject"] == "app.clearview.ai"
    assert len(ring["users"]) >= 3
    per_user = Counter(default_world.by_id[i].user for i in ring["event_ids"])
    assert set(per_user) == set(ring["users"])


def test_bursts_are_loud_quiet_or_early_and_alone_in_their_window(world: WrittenWorld) -> None:
    by_id = world.by_id
    roles = {(u["agency"], u["user"]): u["role"] for u in world.truth["users"]}
    for incident in world.truth["incidents"]:
        if incident["detector"] != "burst":
            continue
        events = [by_id[i] for i in incident["event_ids"]]
        span = events[-1].ts - events[0].ts
        (user,) = incident["users"]
        if incident["kind"] == "loud_burst":
            assert len(events) == 25 and span == 45 * 60
            assert roles[(incident["agency"], user)] == "occasional"
        elif incident["kind"] == "early_burst":
            assert 90 <= len(events) <= 110 and 48 * 60 <= span <= 56 * 60
            assert roles[(incident["agency"], user)] == "occasional"
        else:
            assert 20 <= len(events) <= 25 and 50 * 60 <= span <= 58 * 60
        # No other search of the user within two hours either side.
        others = [e for e in world.events if e.user == user and e.agency == incident["agency"]
                  and e.event_id not in set(incident["event_ids"])]  # fmt: skip
        assert all(e.ts < events[0].ts - 7200 or e.ts > events[-1].ts + 7200 for e in others)


def test_expired_certificate_splits_the_user_s_searches(world: WrittenWorld) -> None:
    (incident,) = [i for i in world.truth["incidents"] if i["kind"] == "certificate_expired"]
    (user,) = incident["users"]
    evidence = set(incident["event_ids"])
    mine = [e for e in world.events if e.user == user and e.agency == incident["agency"]]
    before = [e for e in mine if e.event_id not in evidence]
    assert before, "the user searched while certified, before the certificate ran out"
    assert all(world.certificates.is_valid(e.agency, e.user, e.ts) for e in before)
    assert all(not world.certificates.is_valid(e.agency, e.user, e.ts) for e in mine
               if e.event_id in evidence)  # fmt: skip
    assert max(e.ts for e in before) < min(by.ts for by in mine if by.event_id in evidence)


def _history_s(world: WrittenWorld) -> tuple[float, float]:
    """The run's start and how long its history phase lasts, in seconds."""
    from streams.contract.event import parse_timestamp

    start = parse_timestamp(world.truth["start"])
    days = round((parse_timestamp(world.truth["end"]) - start) / 86400)
    return start, (max(days // 2, 7) if days >= 10 else max(1, days // 2)) * 86400


def test_incidents_happen_after_a_history(world: WrittenWorld) -> None:
    from streams.contract.event import parse_timestamp

    start, history = _history_s(world)
    for incident in world.truth["incidents"]:
        if incident["kind"] != "early_burst":
            assert parse_timestamp(incident["start"]) >= start + history, incident["id"]


def test_one_burst_comes_in_the_first_days_before_any_history(world: WrittenWorld) -> None:
    from streams.contract.event import parse_timestamp

    start, history = _history_s(world)
    (early,) = [i for i in world.truth["incidents"] if i["kind"] == "early_burst"]
    assert early["detector"] == "burst" and early["id"] == world.truth["incidents"][-1]["id"]
    assert start <= parse_timestamp(early["start"]) < start + min(3 * 86400, history)


def test_behaviour_anomalies_break_no_rule_and_stay_under_the_burst_floor(
    world: WrittenWorld,
) -> None:
    by_id = world.by_id
    floor = world.policy.burst.min_count
    for incident in world.truth["incidents"]:
        if incident["detector"] != "behavior_anomaly":
            continue
        events = [by_id[i] for i in incident["event_ids"]]
        # Days of changed behaviour give the model enough to score (a 3-day world: a few).
        assert len(events) >= (10 if len(world.events) > 20_000 else 3)
        assert max_per_window([e.ts for e in events], world.policy.burst.window_s) < floor


@pytest.mark.parametrize(
    ("users", "days", "seed"),
    [(60, 3, 1), (60, 4, 9), (80, 5, 12), (100, 7, 5), (120, 10, 11), (250, 21, 4)],
)
def test_worlds_of_many_shapes_cover_every_detector(
    tmp_path: Path, users: int, days: int, seed: int
) -> None:
    world = write_world(tmp_path, users=users, days=days, seed=seed)
    assert {i["detector"] for i in world.truth["incidents"]} == set(DETECTORS)
    assert "early_burst" in {i["kind"] for i in world.truth["incidents"]}
    by_id = world.by_id
    evidence = world.incident_ids()
    for incident in world.truth["incidents"]:
        expected = {incident["detector"]} & RULES
        for event_id in incident["event_ids"]:
            assert broken_rules(by_id[event_id], world.policy, world.certificates) == expected
    for event in world.events:
        if event.event_id not in evidence:
            assert not broken_rules(event, world.policy, world.certificates)

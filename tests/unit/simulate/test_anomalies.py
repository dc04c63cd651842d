"""Behaviour-only anomalies stand apart from ordinary users in what the model looks at."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from streams.contract import SearchEvent
from streams.contract.event import parse_timestamp
from tests.unit.simulate.conftest import WrittenWorld


def _profile(events: list[SearchEvent], baseline_per_day: float, days: float) -> dict[str, float]:
    n = len(events)
    hours = [int(e.ts // 3600) % 24 for e in events]
    return {
        "off_hours": sum(h < 6 or h >= 22 for h in hours) / n,
        "zero_results": sum(e.result_count == 0 for e in events) / n,
        "distinct_probes": len({e.probe_sha256 for e in events}) / n,
        "rate_vs_own": (n / days) / max(baseline_per_day, 0.1),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_anomalies_differ_from_ordinary_users_in_several_features(
    default_world: WrittenWorld,
) -> None:
    world = default_world
    start = parse_timestamp(world.truth["start"])
    half = start + 7 * 86400
    end = parse_timestamp(world.truth["end"])
    (surge,) = [d for d in world.truth["decoys"] if d["kind"] == "agency_surge"]
    surge_span = (parse_timestamp(surge["start"]), parse_timestamp(surge["end"]))
    by_user: dict[tuple[str, str], list[SearchEvent]] = defaultdict(list)
    for e in world.events:
        # The surge's searches are explained by the surge (a decoy), not by the user.
        if not (e.agency == surge["agency"] and surge_span[0] <= e.ts <= surge_span[1]):
            by_user[(e.agency, e.user)].append(e)
    anomalies = {(i["agency"], i["users"][0]): i for i in world.truth["incidents"]
                 if i["detector"] == "behavior_anomaly"}  # fmt: skip
    assert len(anomalies) >= 8
    others = {k for i in world.truth["incidents"] for k in [(i["agency"], u) for u in i["users"]]}
    roles = {(u["agency"], u["user"]): u["role"] for u in world.truth["users"]}

    normal: list[dict[str, float]] = []
    for key, events in by_user.items():
        if key in others or roles[key] == "analyst":
            continue
        before = [e for e in events if e.ts < half]
        after = [e for e in events if e.ts >= half]
        # Shares and rates mean something only with a few searches on each side.
        if len(after) >= 15 and len(before) >= 5:
            normal.append(_profile(after, len(before) / 7, 7))
    assert len(normal) > 100
    limits = {name: _percentile([p[name] for p in normal], 0.99) for name in normal[0]}

    for key, incident in anomalies.items():
        onset = parse_timestamp(incident["start"])
        before = [e for e in by_user[key] if e.ts < half]
        changed = [e for e in by_user[key] if e.event_id in set(incident["event_ids"])]
        profile = _profile(changed, len(before) / 7, (end - onset) / 86400)
        beyond = [name for name, value in profile.items() if value > limits[name]]
        assert len(beyond) >= 2, (incident["kind"], profile, limits)


def test_behaviour_days_end_the_incident_and_bring_the_routine_back(tmp_path: Path) -> None:
    from tests.unit.simulate.conftest import write_world

    world = write_world(tmp_path / "w", users=200, days=21, seed=11, behaviour_days=3)
    by_id = world.by_id
    incidents = [i for i in world.truth["incidents"] if i["detector"] == "behavior_anomaly"]
    assert incidents
    resumed = 0
    for incident in incidents:
        start, end = parse_timestamp(incident["start"]), parse_timestamp(incident["end"])
        # the changed behaviour lasts at most three days from the onset day's midnight
        assert end - (start - start % 86_400) <= 3 * 86_400
        (user,) = incident["users"]
        evidence = set(incident["event_ids"])
        later = [e for e in world.events if e.user == user and e.agency == incident["agency"]
                 and e.ts > end]  # fmt: skip
        assert all(e.event_id not in evidence for e in later)
        assert all(by_id[eid].ts <= end for eid in evidence)
        resumed += bool(later)
    # after the stop the users search as before (some may have no working day left)
    assert resumed >= len(incidents) // 2


def test_behaviour_days_are_checked() -> None:
    from streams.simulate import SimulationConfig
    from streams.simulate.world import SimulationError

    with pytest.raises(SimulationError, match="--behaviour-days must be between 1 and"):
        SimulationConfig(behaviour_days=0).validate()

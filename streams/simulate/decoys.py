"""Decoys: traffic that looks alarming at first sight but is allowed, and must stay silent.

* ``steady_analyst``: the high-volume analysts, ~18-28 searches an hour inside
  clusters all day, every day: never a burst;
* ``agency_surge``: a major incident sends every member of one agency to the
  search system for a few hours at three to five times their working pace:
  they all rise together, so none of them is a burst. Only the volume
  changes: probes repeat and results come back as on any other day;
* ``mou_request``: searches on behalf of another agency that a memorandum of
  understanding in the policy allows: never an outside-agency search.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.simulate.records import CaseBook, new_probe, result_count
from streams.simulate.scenario import Label, Scenario
from streams.simulate.timefmt import MINUTE_MS
from streams.simulate.world import SimUser

EVER = 2**62


def steady_analysts(sc: Scenario) -> None:
    """One decoy per agency with analysts, covering their whole run."""
    for agency in sc.world.agencies:
        analysts = sc.candidates(("analyst",), agency)
        if not analysts:
            continue
        label = sc.decoy("steady_analyst", agency, ["burst"])
        for user in analysts:
            user.reserved = True
            user.leave = None  # steady means every working week of the run
            label.users.append(user.user)
            user.tag_windows.append((0, EVER, label.index))


@dataclass(slots=True)
class SurgePlan:
    label: Label
    day: int
    start_ms: int
    end_ms: int


def plan_surge(sc: Scenario) -> SurgePlan:
    """Choose the agency, weekday and hours of the major incident (members chosen later)."""
    world = sc.world
    rng = sc.rng("agency-surge")
    agency = max(world.agencies, key=lambda a: (len(world.by_agency(a)), a))
    phase = range(world.history_days, world.days)
    day = rng.choice([d for d in phase if world.weekday(d) < 5] or list(phase))
    start = world.day_ms(day) + rng.randint(9 * 60, 12 * 60) * MINUTE_MS
    end = start + rng.randint(3 * 60, 5 * 60) * MINUTE_MS
    label = sc.decoy("agency_surge", agency, ["burst"])
    return SurgePlan(label, day, start, end)


def _pace(sc: Scenario, user: SimUser, rng_value: float, multiplier: float) -> float:
    """Searches an hour during the surge: a multiple of the user's working pace."""
    if user.role == "analyst":
        return 36.0 + 6.0 * rng_value
    working_pace = (2.0 + rng_value) if user.role == "occasional" else (4.0 + 2.0 * rng_value)
    return min(28.0, working_pace * multiplier)


def run_surge(sc: Scenario, plan: SurgePlan) -> None:
    """Every available member of the agency searches hard during the surge window."""
    world = sc.world
    rng = sc.rng("agency-surge-members")
    label = plan.label
    book = CaseBook(label.agency, world.year, rng)
    major_case = book.case_number()
    for user in world.by_agency(label.agency):
        on_leave = user.leave is not None and user.leave[0] <= plan.day < user.leave[1]
        if (user.reserved and user.role != "analyst") or on_leave:
            continue
        if not user.active_from_ms <= plan.start_ms < user.active_until_ms:
            continue
        label.users.append(user.user)
        user.blackouts.append((plan.start_ms, plan.end_ms))
        rate = _pace(sc, user, rng.random(), rng.uniform(3.0, 5.0))
        gap_ms = 3_600_000 / rate
        probes: list[str] = []
        t = plan.start_ms + rng.randint(0, 10 * MINUTE_MS)
        while t < plan.end_ms:
            if probes and rng.random() < 0.3:
                probe = rng.choice(probes)
            else:
                probe = new_probe(rng)
                probes.append(probe)
            sc.sink.add(
                t,
                user.agency,
                user.user,
                user.endpoints[0],
                case=major_case,
                probe=probe,
                results=result_count(rng, 0.28),
                label=label.index,
            )
            t += int(gap_ms * rng.uniform(0.6, 1.4))


def mou_requests(sc: Scenario) -> None:
    """Members searching for agencies their MOU covers, spread over the whole run."""
    world = sc.world
    rng = sc.rng("mou-requests")
    pairs = sorted(
        (agency, other)
        for agency in world.agencies
        for other in world.policy.agencies[agency].may_search_for
        if other != agency and sc.has_candidate(("regular", "occasional"), agency)
    )
    for agency, other in sorted(rng.sample(pairs, min(3, len(pairs)))):
        label = sc.decoy("mou_request", agency, ["outside_agency"])
        for _ in range(rng.randint(1, 2)):
            if not sc.has_candidate(("regular", "occasional"), agency):
                break
            user = sc.reserve(rng, label, ("regular", "occasional"), agency)
            book = CaseBook(agency, world.year, rng)
            days = world.work_days(user, 0)
            for day in sorted(rng.sample(days, min(len(days), rng.randint(4, 6)))):
                case = book.case_number(other)
                t = sc.time_in_shift(rng, user, day, room_ms=30 * MINUTE_MS)
                for _ in range(rng.randint(1, 2)):
                    sc.sink.add(
                        t,
                        agency,
                        user.user,
                        user.endpoints[0],
                        on_behalf_of=other,
                        case=case,
                        probe=new_probe(rng),
                        results=result_count(rng, 0.25),
                        label=label.index,
                    )
                    t += rng.randint(2, 12) * MINUTE_MS

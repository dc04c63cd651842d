"""Behaviour-only anomalies: users whose searching changes without breaking any rule.

From an onset day in the second part of the run, the user's whole activity
takes on a different shape; every search is still certified, on an
authorised system, for the own agency, with a case number, and never more
than :data:`MAX_PER_HOUR` in an hour (well under the burst floor). What
changes is what the behaviour model looks at:

* ``night_fishing``: searching between 01:45 and 04:30, almost every probe new,
  nearly all with zero results, in irregular clumps, more often than before;
* ``probe_fishing``: many distinct probes with nothing found, in irregular
  clumps, during the shift and often again late in the evening, two to three
  times the user's usual daily count;
* ``odd_hours``: late-night searching (22:30-05:30), irregular, almost every
  probe new, mostly nothing found, two to three times the usual count.

The changed behaviour lasts to the end of the run, or, with
``SimulationConfig.behaviour_days`` (``frtwatch simulate --behaviour-days N``),
``N`` days from the onset, after which the user's ordinary searching resumes:
what a model must stop flagging once the behaviour is over.
"""

from __future__ import annotations

import random

from streams.simulate.records import CaseBook, result_count
from streams.simulate.scenario import Label, Scenario
from streams.simulate.timefmt import HOUR_MS, MINUTE_MS
from streams.simulate.world import SimUser

VARIANTS = ("night_fishing", "probe_fishing", "odd_hours")
MAX_PER_HOUR = 12


def clumped_times(rng: random.Random, count: int, first: int, last: int) -> list[int]:
    """``count`` moments in one to three tight clumps: long silences, then quick runs.

    >>> times = clumped_times(random.Random(1), 8, 0, 3_600_000 * 3)
    >>> len(times) <= 8 and times == sorted(times)
    True
    """
    clumps = rng.randint(1, min(3, count))
    cuts = sorted(rng.sample(range(1, count), clumps - 1)) if clumps > 1 else []
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, count], strict=True)]
    times: list[int] = []
    for size in sizes:
        t = rng.randint(first, last)
        for _ in range(size):
            times.append(t)
            t += rng.randint(10_000, 150_000)
    times.sort()
    kept: list[int] = []
    for t in times:
        if sum(1 for k in kept[-MAX_PER_HOUR:] if t - k < HOUR_MS) < MAX_PER_HOUR:
            kept.append(t)
    return kept


def _plan_days(
    sc: Scenario, rng: random.Random, user: SimUser, variant: str, onset: int, stop: int
) -> list[tuple[int, int, int]]:
    """(count, first, last) per active day of the changed behaviour (days onset to stop)."""
    world = sc.world
    plans: list[tuple[int, int, int]] = []
    for day in range(onset, stop):
        base = world.day_ms(day)
        if variant == "night_fishing":
            if day == onset or rng.random() < 0.8:
                plans.append((rng.randint(4, 10), base + 105 * MINUTE_MS, base + 270 * MINUTE_MS))
        elif variant == "probe_fishing":
            working = world.works(user, day)
            if working or rng.random() < 0.4:
                begin, end = (
                    world.shift(user, day)
                    if working
                    else (base + 10 * HOUR_MS, base + 16 * HOUR_MS)
                )
                plans.append((rng.randint(6, 10), begin, end - HOUR_MS))
                if rng.random() < 0.6:  # and carries on alone late in the evening
                    plans.append((rng.randint(3, 6), base + 22 * HOUR_MS, base + 23 * HOUR_MS))
        elif day == onset or rng.random() < 0.85:
            plans.append(
                (rng.randint(6, 12), base + 22 * HOUR_MS + 30 * MINUTE_MS, base + 29 * HOUR_MS)
            )
    return plans


def _changed_behaviour(
    sc: Scenario,
    rng: random.Random,
    label: Label,
    user: SimUser,
    variant: str,
    onset: int,
    stop: int,
) -> None:
    world = sc.world
    book = CaseBook(user.agency, world.year, rng)
    cases = [book.open_case() for _ in range(rng.randint(1, 2))]
    p_new, p_zero = {"night_fishing": (1.0, 0.9), "probe_fishing": (1.0, 0.9)}.get(
        variant, (0.97, 0.8)
    )
    until = min(world.end_ms, world.day_ms(stop))
    for count, first, last in _plan_days(sc, rng, user, variant, onset, stop):
        for t in clumped_times(rng, count, first, last):
            if t >= until:
                continue
            case = rng.choice(cases)
            sc.sink.add(
                t,
                user.agency,
                user.user,
                user.endpoints[0],
                case=case.number,
                probe=book.probe(case, p_new),
                results=result_count(rng, p_zero),
                label=label.index,
            )


def behaviour_anomalies(sc: Scenario) -> None:
    """About 2% of users (at least three) change their behaviour in the second part."""
    world = sc.world
    rng = sc.rng("behaviour")
    count = min(max(3, round(world.config.users * 0.02)), 40)
    # Onsets fall in the first third of the incident phase, leaving days of changed behaviour.
    phase = world.days - world.history_days
    onsets = range(world.history_days, world.history_days + max(0, min(phase - 3, phase // 3)) + 1)

    def settled(user: SimUser) -> bool:
        # A history to compare against: working days before the incidents begin.
        return len(world.work_days(user, 0, world.history_days)) >= 1

    for n in range(count):
        variant = VARIANTS[n % len(VARIANTS)]
        label = sc.incident("behavior_anomaly", variant, "")
        user = sc.reserve(rng, label, ("regular", "occasional"), accept=settled)
        label.agency = user.agency
        onset = rng.choice(onsets)
        lasts = world.config.behaviour_days
        stop = world.days if lasts is None else min(world.days, onset + lasts)
        # From the onset (until the stop) the user's activity is the changed behaviour only.
        user.blackouts.append((world.day_ms(onset), min(world.end_ms, world.day_ms(stop))))
        _changed_behaviour(sc, rng, label, user, variant, onset, stop)

"""Everyday searching by role: the background every detector must stay quiet on.

* occasional: on about one working day in four, one to three searches (< 1 a day);
* regular: one to three short sessions every working day, a few searches each;
* analyst: clusters of steady searching all shift long, 18 to 28 an hour inside
  a cluster, short breaks in between.

Every background search is valid: an authorised system of the user's agency,
the user's own agency, a case number, a certified user. Searches that fall
into a user's blackout windows are not generated (a scenario replaces them)
and searches inside a tag window are labelled with that incident or decoy.
"""

from __future__ import annotations

import random

from streams.simulate.records import PURPOSES, CaseBook, SearchSink, result_count
from streams.simulate.timefmt import MINUTE_MS
from streams.simulate.world import SimUser, World

SECOND_MS = 1000


class _Emitter:
    """Applies a user's activity window, blackouts and tags to each search."""

    __slots__ = ("_agency", "_append", "_blackouts", "_from", "_tags", "_until", "_user")

    def __init__(self, user: SimUser, sink: SearchSink) -> None:
        self._agency = user.agency
        self._user = user.user
        self._append = sink.searches.append
        self._from = user.active_from_ms
        self._until = user.active_until_ms
        self._blackouts = tuple(user.blackouts)
        self._tags = tuple(user.tag_windows)

    def emit(
        self, ts: int, endpoint: str, case: str, probe: str, results: int, purpose: str
    ) -> None:
        # The hot path of the whole simulator: a plain tuple in SearchSink's field order.
        if not self._from <= ts < self._until:
            return
        for first, last in self._blackouts:
            if first <= ts < last:
                return
        label = 0
        for first, last, tag in self._tags:
            if first <= ts < last:
                label = tag
                break
        agency = self._agency
        self._append(
            (
                ts,
                agency,
                self._user,
                endpoint,
                agency,
                case,
                purpose,
                probe,
                results,
                "audit-log",
                label,
            )
        )


def _occasional_day(
    rng: random.Random, book: CaseBook, out: _Emitter, endpoint: str, t0: int, t1: int
) -> None:
    if rng.random() >= 0.25:
        return
    count = rng.choices((1, 2, 3), weights=(75, 18, 7))[0]
    case = book.pick_case(p_new=0.8)
    purpose = rng.choice(PURPOSES)
    t = rng.randint(t0, max(t0, t1 - 40 * MINUTE_MS))
    for _ in range(count):
        out.emit(t, endpoint, case.number, book.probe(case, 0.6), result_count(rng, 0.25), purpose)
        t += rng.randint(2 * MINUTE_MS, 15 * MINUTE_MS)


# A regular's sessions a day and searches a session (drawn uniformly from these).
_SESSIONS = (1, 1, 2, 2, 2, 3)
_SESSION_LENGTHS = (1, 2, 2, 3, 3, 4)


def _regular_day(
    rng: random.Random, book: CaseBook, out: _Emitter, endpoint: str, t0: int, t1: int
) -> None:
    draw = rng.random
    sessions = _SESSIONS[int(draw() * len(_SESSIONS))]
    room = max(0, t1 - 45 * MINUTE_MS - t0)
    for start in sorted(t0 + int(draw() * room) for _ in range(sessions)):
        case = book.pick_case(p_new=0.5)
        purpose = PURPOSES[int(draw() * len(PURPOSES))]
        t = start
        for _ in range(_SESSION_LENGTHS[int(draw() * len(_SESSION_LENGTHS))]):
            probe = book.probe(case, 0.6)
            out.emit(t, endpoint, case.number, probe, result_count(rng, 0.25), purpose)
            t += MINUTE_MS + int(draw() * 9 * MINUTE_MS)


def _analyst_day(
    rng: random.Random, book: CaseBook, out: _Emitter, endpoint: str, t0: int, t1: int
) -> None:
    t = t0 + rng.randint(0, 20 * MINUTE_MS)
    while t < t1:
        cluster_end = min(t1, t + rng.randint(20 * MINUTE_MS, 70 * MINUTE_MS))
        rate = rng.uniform(18.0, 28.0)  # searches an hour inside the cluster
        gap_ms = 3_600_000 / rate
        case = book.pick_case(p_new=0.6)
        while t < cluster_end:
            if rng.random() < 0.08:
                case = book.pick_case(p_new=0.5)
            probe = book.probe(case, 0.7)
            out.emit(t, endpoint, case.number, probe, result_count(rng, 0.3), "investigation")
            t += int(gap_ms * (0.75 + 0.5 * rng.random()))
        t += rng.randint(8 * MINUTE_MS, 40 * MINUTE_MS)


_DAY_PLANS = {"occasional": _occasional_day, "regular": _regular_day, "analyst": _analyst_day}


def generate_routine(world: World, user: SimUser, sink: SearchSink) -> None:
    """Append ``user``'s ordinary searches over the whole run to ``sink``."""
    rng = random.Random(user.rng_seed)
    book = CaseBook(user.agency, world.year, rng)
    out = _Emitter(user, sink)
    plan = _DAY_PLANS[user.role]
    primary, *others = user.endpoints
    for day in range(world.days):
        if not world.works(user, day):
            continue
        begin, end = world.shift(user, day)
        # Shifts start and end a little differently every day (up to 15 minutes).
        begin += (int(rng.random() * 31) - 15) * MINUTE_MS
        end += (int(rng.random() * 31) - 15) * MINUTE_MS
        endpoint = primary if not others or rng.random() < 0.85 else rng.choice(others)
        plan(rng, book, out, endpoint, begin, end)

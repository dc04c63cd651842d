"""burst: far above the user's own normal AND their peers' current rate AND the floor."""

from __future__ import annotations

from collections.abc import Iterable

from streams.contract import SearchEvent
from streams.detectors import Engine
from tests.unit.detectors.factories import HOUR, Run, at, make_event, with_detector

WORKDAY = range(9, 17)


def steady(
    user: str,
    per_hour: int,
    days: Iterable[int],
    hours: Iterable[int] = WORKDAY,
    agency: str = "MPD",
    offset: float = 0.0,
) -> list[SearchEvent]:
    """``per_hour`` evenly spaced searches in each of ``hours`` on each of ``days``."""
    gap = HOUR / per_hour
    hours = list(hours)
    return [
        make_event(at(day, hour) + offset + i * gap, user=user, agency=agency)
        for day in days
        for hour in hours
        for i in range(per_hour)
    ]


def spaced(user: str, start: float, count: int, over_s: float, agency="MPD"):
    gap = over_s / count
    return [make_event(start + i * gap, user=user, agency=agency) for i in range(count)]


def in_order(*streams: list[SearchEvent]) -> list[SearchEvent]:
    return sorted((e for s in streams for e in s), key=lambda e: e.ts)


def test_occasional_user_running_25_searches_in_45_minutes_fires(run):
    r = run()
    # Less than once a day: one search every other day at 10:17 for two weeks.
    history = [make_event(at(day, 10, 17), user="mpd-0012") for day in range(0, 14, 2)]
    peers = [steady(f"mpd-{n:04d}", 2, range(15), offset=60 * n) for n in range(1, 6)]
    burst = spaced("mpd-0012", at(14, 14), 25, 45 * 60)  # 14:00 to 14:43:12
    r.feed(in_order(history, *peers, burst))

    alerts = r.of("burst")
    assert alerts, "the burst was missed"
    assert {(a.agency, a.user) for a in alerts} == {("MPD", "mpd-0012")}
    first = alerts[0]
    d = first.details
    assert d["window_count"] == 15  # the floor is the binding threshold here
    assert d["own_baseline"] == 1.0 and d["own_threshold"] == 6.0
    assert d["own_baseline_windows"] == 7 and d["new_user"] is False
    assert d["peers_active"] == 5 and d["peer_rate"] == 2.0 and d["peer_threshold"] == 8.0
    assert 1.5 <= d["peer_mean"] <= 2.5
    assert d["min_count"] == 15 and d["threshold"] == 15.0
    assert d["window_s"] == 3600 and d["baseline_s"] == 14 * 86400
    burst_ids = {e.event_id for e in burst}
    assert set(first.event_ids) <= burst_ids
    # It counts every search in the window, and keeps the ids of the trigger and the
    # four searches before it.
    assert first.event_count == 15 and len(first.event_ids) == 5
    assert burst[0].ts <= first.first_seen <= first.last_seen <= burst[-1].ts
    assert first.summary == (
        "MPD user mpd-0012 ran 15 searches within 1 hour, far more than their usual 1.0 "
        "and the 2 of a typical active colleague in MPD."
    )
    r.feed([make_event(at(16, 9), user="mpd-0012")])  # two days on, one search: it closes
    latest = r.latest("burst")
    assert [(a.status, a.event_count) for a in latest.values()] == [("closed", len(burst))]


def test_steady_analyst_at_30_an_hour_never_fires(run):
    r = run()
    analyst = steady("mpd-0020", 30, range(15))
    peers = [steady(f"mpd-{n:04d}", 1, range(15), offset=300 * n) for n in (1, 2)]
    r.feed(in_order(analyst, *peers))
    assert not r.of("burst")


def test_steady_analyst_with_14_days_of_history_is_silent(run):
    r = run()
    analyst = steady("mpd-0020", 30, range(15))
    peers = [steady(f"mpd-{n:04d}", 1, range(15), offset=300 * n) for n in (1, 2)]
    events = in_order(analyst, *peers)
    r.feed([e for e in events if e.ts < at(14)])
    r.alerts.clear()
    r.feed([e for e in events if e.ts >= at(14)])
    assert not r.of("burst")
    assert r.users["MPD/mpd-0020"].last_count == 30


def test_a_few_busy_analysts_do_not_hide_a_colleagues_burst(run):
    r = run()
    days = range(9)
    analysts = [steady(f"mpd-{n:04d}", 25, days, offset=11 * n) for n in (1, 2)]
    regulars = [steady(f"mpd-{n:04d}", 2, days, offset=60 * n) for n in range(3, 9)]
    burst = spaced("mpd-0009", at(9, 13), 22, 55 * 60)
    during = [steady(f"mpd-{n:04d}", 25 if n < 3 else 2, [9], offset=11 * n) for n in range(1, 9)]
    r.feed(in_order(*analysts, *regulars, steady("mpd-0009", 2, days), *during, burst))
    alerts = r.of("burst")
    assert {a.user for a in alerts} == {"mpd-0009"}
    d = alerts[0].details
    # The mean active colleague runs far more than the typical one.
    assert d["peer_rate"] == 2.0 and d["peer_mean"] > 5.5
    assert d["own_baseline"] == 2.0


NORMALS = {f"spd-{n:04d}": per_hour for n, per_hour in enumerate((2, 3, 3, 4, 2, 3, 4, 3), 1)}


def agency_history():
    return [
        steady(user, per_hour, range(14), agency="SPD", offset=37 * n)
        for n, (user, per_hour) in enumerate(NORMALS.items())
    ]


def surge(users):
    """Day 14, 10:00-12:00: the given users search 4-5x their normal; everyone else as usual."""
    out = []
    for n, (user, per_hour) in enumerate(NORMALS.items()):
        factor = (4 if n % 2 else 5) if user in users else 1
        out.append(
            steady(user, per_hour * factor, [14], hours=(10, 11), agency="SPD", offset=37 * n)
        )
    return out


def test_agency_wide_surge_fires_for_nobody(run, policy):
    r = run()
    r.feed(in_order(*agency_history()))
    r.alerts.clear()
    r.feed(in_order(*surge(set(NORMALS))))
    assert not r.of("burst")


def test_peers_hold_back_a_surge_that_the_own_baseline_alone_would_flag(run, policy):
    sensitive = with_detector(policy, "burst", own_factor=3.0)
    together = run(sensitive)
    together.feed(in_order(*agency_history()))
    together.alerts.clear()
    together.feed(in_order(*surge(set(NORMALS))))
    assert not together.of("burst")

    alone = run(sensitive)
    alone.feed(in_order(*agency_history()))
    alone.alerts.clear()
    alone.feed(in_order(*surge({"spd-0004"})))  # normal 4/h -> 20/h while peers stay normal
    assert {a.user for a in alone.of("burst")} == {"spd-0004"}


def test_new_user_running_40_in_an_hour_while_peers_are_quiet_fires(run):
    r = run()
    peers = [steady(f"mpd-{n:04d}", 2, range(9), offset=90 * n) for n in (1, 2, 3)]
    newcomer = spaced("mpd-0030", at(8, 13), 40, HOUR)
    r.feed(in_order(*peers, newcomer))
    alerts = r.of("burst")
    assert {a.user for a in alerts} == {"mpd-0030"}
    d = alerts[0].details
    assert d["new_user"] is True and d["own_baseline"] == 0.0 and d["own_baseline_windows"] == 0
    assert d["peers_active"] == 3 and d["window_count"] == 15
    assert d["young_watch"] is False and d["threshold"] == 15.0  # the ordinary bars
    assert alerts[0].summary == (
        "MPD user mpd-0030, who has little search history yet, ran 15 searches within 1 hour, "
        "far more than the 2 of a typical active colleague in MPD."
    )


def test_while_an_agency_is_newly_watched_a_new_user_needs_an_extreme_rate(run):
    r = run()
    peers = [steady(f"mpd-{n:04d}", 2, range(3), offset=90 * n) for n in (1, 2, 3)]
    # Day 2: the agency has been watched for two days, less than half the 14 d baseline,
    # so a user without a normal must reach 3 x 15 = 45 in the window: 40 is not enough.
    r.feed(in_order(*peers, spaced("mpd-0030", at(2, 13), 40, HOUR)))
    assert not r.of("burst")


def first_hour_peers(days=(0,)) -> list[list[SearchEvent]]:
    """Three regulars at 2 an hour; the agency's first search is day 0, 09:01:30."""
    return [steady(f"mpd-{n:04d}", 2, days, offset=90 * n) for n in (1, 2, 3)]


def test_a_burst_in_the_first_hour_of_a_deployment_fires(run):
    r = run()
    burst = spaced("mpd-0030", at(0, 9, 20), 100, 50 * 60)  # a search every 30 s
    r.feed(in_order(*first_hour_peers(), burst))

    alerts = r.of("burst")
    assert {a.user for a in alerts} == {"mpd-0030"}
    first = alerts[0]
    # The 45th search (09:42:00) opens it: 21 minutes into the agency's watch.
    assert first.last_seen == burst[44].ts == at(0, 9, 42)
    assert first.last_seen - r.agencies["MPD"].since < HOUR
    d = first.details
    assert d["young_watch"] is True and d["extreme_factor"] == 3.0
    assert d["new_user"] is True and d["own_baseline_windows"] == 0
    assert d["window_count"] == 45 and d["min_count"] == 15
    assert d["peers_active"] == 3 and d["peer_rate"] == 2.0
    assert d["peer_threshold"] == 24.0  # 3 x peer_factor 4 x the typical 2
    assert d["threshold"] == 45.0  # 3 x min_count 15
    assert first.summary == (
        "MPD user mpd-0030, who has little search history yet, ran 45 searches within 1 hour, "
        "far more than the 2 of a typical active colleague in MPD."
    )


def test_the_first_hour_verdict_is_the_same_with_stored_states_and_any_cut(policy, registry):
    burst = spaced("mpd-0030", at(0, 9, 20), 100, 50 * 60)
    events = in_order(*first_hour_peers(), burst)
    plain = Run(Engine(policy, registry))
    plain.feed(events)
    stored = Run(Engine(policy, registry), roundtrip=True)
    for cut in range(0, len(events), 7):
        stored.feed(events[cut : cut + 7])
    assert plain.of("burst")
    assert [(a.alert_id, a.event_count, a.details) for a in stored.of("burst")] == [
        (a.alert_id, a.event_count, a.details) for a in plain.of("burst")
    ]


def test_a_user_new_to_a_young_agency_is_judged(run):
    r = run()
    # The agency is watched from day 0; mpd-0030 searches for the first time on day 5.
    newcomer = spaced("mpd-0030", at(5, 13), 60, HOUR)
    r.feed(in_order(*first_hour_peers(range(6)), newcomer))
    alerts = r.of("burst")
    assert {a.user for a in alerts} == {"mpd-0030"}
    assert alerts[0].last_seen == newcomer[44].ts
    assert alerts[0].details["young_watch"] is True


def test_busy_analysts_from_the_first_hour_of_a_deployment_stay_silent(run, policy):
    # 35 an hour all day from the very first hour: more than anyone else in the
    # agency, and no normal of their own for the first hours.
    analysts = [steady(f"mpd-{n:04d}", 35, range(3), offset=13 * n) for n in (20, 21, 22, 23)]
    events = in_order(*first_hour_peers(range(3)), *analysts)
    r = run()
    r.feed(events)
    assert not r.of("burst")
    assert max(o.user_state.last_count for o in r.outcomes) >= 33  # 5-minute steps
    # Judged against the ordinary bars in their first hours, every one of them would fire.
    unraised = run(with_detector(policy, "burst", extreme_factor=1.0))
    unraised.feed(events)
    assert {a.user for a in unraised.of("burst")} == {f"mpd-{n:04d}" for n in (20, 21, 22, 23)}
    assert all(a.first_seen < at(0, 13) for a in unraised.of("burst"))


def test_an_agency_wide_surge_in_the_first_hour_fires_for_nobody(run, policy):
    # A major incident at the very start of the watch: everyone runs 50 to 60 an hour.
    everyone = in_order(
        *(steady(f"mpd-{n:04d}", 50 + 2 * n, [0], hours=(9,), offset=17 * n) for n in range(1, 7))
    )
    r = run()
    r.feed(everyone)
    assert not r.of("burst")
    assert min(r.users[f"MPD/mpd-{n:04d}"].last_count for n in range(1, 7)) >= 45
    # It is the peers that hold them back: all above the raised floor.
    no_peers = run(with_detector(policy, "burst", peer_factor=0.01))
    no_peers.feed(everyone)
    assert len({a.user for a in no_peers.of("burst")}) == 6


def history_and_burst(user: str, history_hours) -> list[SearchEvent]:
    """Day 0: 20 an hour in ``history_hours``, then 60 in the hour from 13:00."""
    history = steady(user, 20, [0], hours=history_hours)
    return in_order(*first_hour_peers(), history, spaced(user, at(0, 13), 60, HOUR))


def test_the_own_baseline_joins_once_enough_history_exists(run):
    # Two active windows on record: still new, judged against the raised bars.
    short = run()
    short.feed(history_and_burst("mpd-0020", (9, 10)))
    alerts = short.of("burst")
    assert {a.user for a in alerts} == {"mpd-0020"}
    d = alerts[0].details
    assert d["own_baseline_windows"] == 2 and d["new_user"] is True and d["young_watch"] is True

    # Three: their own normal (20 an hour) applies, and 60 is not six times it.
    enough = run()
    enough.feed(history_and_burst("mpd-0020", (9, 10, 11)))
    assert not enough.of("burst")
    assert enough.users["MPD/mpd-0020"].last_count == 60


def test_a_user_with_a_normal_is_judged_while_the_watch_is_young(run):
    r = run()
    history = [make_event(at(day, hour), user="mpd-0012") for day in (0, 1) for hour in (9, 11)]
    r.feed(in_order(history, spaced("mpd-0012", at(2, 13), 25, 45 * 60)))
    assert {a.user for a in r.of("burst")} == {"mpd-0012"}


def test_below_the_floor_never_fires(run):
    r = run()
    r.feed([make_event(at(0, 9), user="mpd-0001")])  # the agency is watched from day 0
    r.feed(spaced("mpd-0030", at(8, 13), 14, HOUR / 2))
    assert not r.of("burst")
    r.feed(spaced("mpd-0030", at(8, 13, 31), 1, 1))
    assert r.of("burst")


def test_searches_leave_the_window(run):
    r = run()
    # 10 searches, then 10 more 61 minutes later: never 15 in one window.
    r.feed(spaced("mpd-0030", at(1, 9), 10, 300))
    r.feed(spaced("mpd-0030", at(1, 10, 6), 10, 300))
    assert not r.of("burst")
    assert r.outcomes[-1].user_state.fine.count(0) < 12


def test_late_searches_are_never_burst_evidence(run):
    r = run(allowed_lateness_s=60)
    r.feed([make_event(at(1, 12), user="mpd-0030")])
    r.feed(spaced("mpd-0030", at(1, 10), 30, 600))  # all more than a minute late
    assert not r.of("burst")
    assert all(o.late for o in r.outcomes[1:])

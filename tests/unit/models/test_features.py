"""BehaviorWindow: each feature on explicit event times, bounded state, order independence."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import orjson
import pytest

from models.features import (
    FEATURE_NAMES,
    LONG_SEARCHES,
    MIN_EVENTS,
    RECENT_SEARCHES,
    SHARE_HALF_LIFE_S,
    SHARE_PRIOR,
    BehaviorWindow,
    LocalHours,
)
from streams.contract import SearchEvent

START = 1_772_409_600.0  # 2026-03-02T00:00:00Z, a Monday
HOUR = 3_600.0


def search(ts: float, n: int = 0, **fields: Any) -> SearchEvent:
    host = fields.pop("host", "frt.county.example.gov")
    values: dict[str, Any] = {
        "event_id": f"e{n}",
        "ts": ts,
        "ts_text": "",
        "agency": "MPD",
        "user": "u1",
        "endpoint": f"https://{host}/s",
        "host": host,
        "on_behalf_of": "MPD",
        "case_number": "MPD-2026-000001",
        "probe_sha256": hashlib.sha256(b"%d" % n).hexdigest(),
        "result_count": 3,
    }
    values.update(fields)
    return SearchEvent(**values)


def features_of(events: list[SearchEvent], hours: LocalHours | None = None) -> dict[str, float]:
    window = BehaviorWindow()
    for event in events:
        if hours is None:
            window.update(event)
        else:
            window.update(event, hours)
    row = window.features()
    assert row is not None
    return dict(zip(FEATURE_NAMES, row, strict=True))


def expected_share(times: list[float], flags: list[float]) -> tuple[float, float]:
    """(recent share, long-run share) of in-order searches, from the definitions directly.

    The search ``k`` searches before the last, ``age`` seconds older, weighs
    ``keep**k * 2**(-age / SHARE_HALF_LIFE_S)`` in the recent share, which also holds
    ``SHARE_PRIOR`` pseudo-searches at the long-run share (weights ``keep_long**k``).
    """
    keep, keep_long = 1 - 1 / RECENT_SEARCHES, 1 - 1 / LONG_SEARCHES
    last, n = times[-1], len(times)
    recent = [
        keep ** (n - 1 - i) * 2 ** (-(last - t) / SHARE_HALF_LIFE_S) for i, t in enumerate(times)
    ]
    long = [keep_long ** (n - 1 - i) for i in range(n)]
    long_share = sum(w * f for w, f in zip(long, flags, strict=True)) / sum(long)
    weighted = sum(w * f for w, f in zip(recent, flags, strict=True))
    return (weighted + SHARE_PRIOR * long_share) / (sum(recent) + SHARE_PRIOR), long_share


def working_days(days: int = 5, per_day: int = 4) -> list[SearchEvent]:
    return [search(START + d * 86_400 + (9 + 2 * i) * HOUR, n=d * 10 + i)
            for d in range(days) for i in range(per_day)]  # fmt: skip


def test_no_row_until_enough_history() -> None:
    window = BehaviorWindow()
    for n in range(MIN_EVENTS - 1):
        window.update(search(START + n * HOUR, n))
        assert window.features() is None
    window.update(search(START + MIN_EVENTS * HOUR, MIN_EVENTS))
    assert window.features() is not None
    assert window.event_count == MIN_EVENTS


@pytest.mark.parametrize(
    ("hour", "off"), [(21.99, 0.0), (22.0, 1.0), (3.0, 1.0), (5.99, 1.0), (6.0, 0.0)]
)
def test_off_hours_are_22_to_06_utc(hour: float, off: float) -> None:
    events = [search(START + d * 86_400 + hour * HOUR, n=d) for d in range(MIN_EVENTS)]
    assert features_of(events)["off_hours_share"] == off


NEW_YORK = LocalHours({"MPD": "America/New_York"})
DST_STARTS = 1_772_953_200.0  # 2026-03-08T07:00:00Z: 02:00 EST becomes 03:00 EDT
DST_ENDS = 1_793_512_800.0  # 2026-11-01T06:00:00Z: 02:00 EDT becomes 01:00 EST


def _daily_at(change: float, utc_hour: float) -> tuple[list[SearchEvent], list[SearchEvent]]:
    """One search a day at the same UTC time for 20 days each side of ``change``."""
    midnight = change - change % 86_400
    events = [search(midnight + d * 86_400 + utc_hour * HOUR, n=d) for d in range(-20, 20)]
    return [e for e in events if e.ts < change], [e for e in events if e.ts > change]


@pytest.mark.parametrize(
    ("change", "utc_hour", "before", "after"),
    [
        (DST_STARTS, 2.5, 0.0, 1.0),  # 21:30 EST, then 22:30 EDT
        (DST_STARTS, 10.5, 1.0, 0.0),  # 05:30 EST, then 06:30 EDT
        (DST_ENDS, 10.5, 0.0, 1.0),  # 06:30 EDT, then 05:30 EST
        (DST_ENDS, 2.5, 1.0, 0.0),  # 22:30 EDT, then 21:30 EST
    ],
)
def test_off_hours_follow_the_agency_clock_across_daylight_saving(
    change: float, utc_hour: float, before: float, after: float
) -> None:
    """The same UTC time is off-hours on one side of a DST change and not on the other."""
    days_before, days_after = _daily_at(change, utc_hour)
    assert len(days_before) >= MIN_EVENTS and len(days_after) >= MIN_EVENTS
    assert features_of(days_before, NEW_YORK)["off_hours_share"] == pytest.approx(before)
    assert features_of(days_after, NEW_YORK)["off_hours_share"] == pytest.approx(after)
    # read on UTC, the same searches are on the same side all along
    utc_off = 1.0 if utc_hour < 6 else 0.0
    assert features_of(days_before)["off_hours_share"] == pytest.approx(utc_off)
    assert features_of(days_after)["off_hours_share"] == pytest.approx(utc_off)


@pytest.mark.parametrize(
    ("ts", "hour"),
    [
        (DST_STARTS - 1.0, 1),  # 01:59:59 EST
        (DST_STARTS, 3),  # 03:00:00 EDT
        (DST_ENDS - 1.0, 1),  # 01:59:59 EDT
        (DST_ENDS, 1),  # 01:00:00 EST, the hour that repeats
        (DST_ENDS + HOUR, 2),
    ],
)
def test_local_hour_at_the_switch_itself(ts: float, hour: int) -> None:
    assert NEW_YORK.hour("MPD", ts) == hour
    assert NEW_YORK.hour("MPD", ts) == hour  # the second answer comes from the cache


def test_zones_with_partial_hour_offsets_are_exact() -> None:
    hours = LocalHours({"KTM": "Asia/Kathmandu"})  # UTC+05:45
    base = 1_772_409_600.0  # 2026-03-02T00:00:00Z
    assert [hours.hour("KTM", base + 16 * HOUR + m * 60) for m in (0, 14, 15, 59)] == [
        21,
        21,
        22,
        22,
    ]


def test_unlisted_agencies_use_the_default_zone() -> None:
    hours = LocalHours({"MPD": "America/Chicago"}, default="Europe/Berlin")
    ts = 1_772_409_600.0  # 00:00 UTC, 01:00 in Berlin (CET), 18:00 in Chicago (CST)
    assert (hours.hour("MPD", ts), hours.hour("CSO", ts)) == (18, 1)
    assert hours.describe() == {"default": "Europe/Berlin", "agencies": {"MPD": "America/Chicago"}}


def test_steady_working_pattern_is_plain() -> None:
    named = features_of(working_days())
    assert named["off_hours_share"] == 0.0
    assert named["zero_result_share"] == 0.0
    assert named["no_case_share"] == 0.0
    assert named["other_agency_share"] == 0.0
    assert named["distinct_probe_share"] == 1.0
    assert named["distinct_endpoints"] == 1.0
    assert 0.5 < named["rate_vs_baseline"] < 2.0


def test_each_share_counts_its_own_kind_of_search() -> None:
    base = working_days()
    last = base[-1].ts
    odd = [
        search(last + 60, 900, result_count=0),
        search(last + 120, 901, case_number=None),
        search(last + 180, 902, on_behalf_of="TPD"),
    ]
    events = base + odd
    named = features_of(events)
    times = [e.ts for e in events]
    for name, position in (("zero_result_share", 3), ("no_case_share", 2),
                           ("other_agency_share", 1)):  # fmt: skip
        flags = [0.0] * len(events)
        flags[-position] = 1.0
        assert named[name] == pytest.approx(expected_share(times, flags)[0])
    # the odd searches are a minute apart: within the day's fading, the later weigh more
    assert named["other_agency_share"] > named["no_case_share"] > named["zero_result_share"] > 0


def test_repeated_probe_lowers_distinct_share() -> None:
    same = hashlib.sha256(b"same face").hexdigest()
    events = [search(START + n * HOUR, n, probe_sha256=same) for n in range(MIN_EVENTS)]
    flags = [1.0] + [0.0] * (MIN_EVENTS - 1)  # only the first search was new
    expected = expected_share([e.ts for e in events], flags)[0]
    assert features_of(events)["distinct_probe_share"] == pytest.approx(expected)


def test_distinct_endpoints_counts_hosts_of_the_last_seven_days() -> None:
    events = working_days()
    last = events[-1].ts
    events += [search(last + 60, 800, host="faces.state.example.gov"),
               search(last + 120, 801, host="other.example.gov")]  # fmt: skip
    assert features_of(events)["distinct_endpoints"] == 3.0
    later = last + 8 * 86_400
    events += [search(later + i * HOUR, 810 + i) for i in range(3)]
    assert features_of(events)["distinct_endpoints"] == 1.0


def test_burst_after_quiet_history_raises_rate_and_irregularity() -> None:
    history = working_days(days=10, per_day=3)
    before = features_of(history)
    last = history[-1].ts
    burst = [search(last + 4 * HOUR + i * 20.0, 700 + i) for i in range(30)]
    # Irregular while the burst starts: the recent gaps mix working-day gaps and seconds.
    starting = features_of(history + burst[:10])
    assert starting["gap_irregularity"] > before["gap_irregularity"] + 1.0
    # Thirty searches 20 s apart fill the ~10-search memory with equal gaps; the rate stays up.
    after = features_of(history + burst)
    assert after["rate_vs_baseline"] > 2 * before["rate_vs_baseline"]
    assert after["gap_irregularity"] < starting["gap_irregularity"]


def test_new_user_rate_is_not_inflated() -> None:
    events = [search(START + n * HOUR, n) for n in range(MIN_EVENTS)]
    assert features_of(events)["rate_vs_baseline"] == pytest.approx(1.0, abs=0.1)


def test_rate_does_not_depend_on_arrival_order() -> None:
    events = working_days(days=7)
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    in_order, out_of_order = features_of(events), features_of(shuffled)
    assert out_of_order["rate_vs_baseline"] == pytest.approx(in_order["rate_vs_baseline"], rel=1e-9)


def test_an_occasional_users_share_leans_on_their_own_history() -> None:
    # An occasional user: one search every three days, the last five found nothing.
    events = [search(START + n * 3 * 86_400 + 10 * HOUR, n, result_count=0 if n >= 25 else 3)
              for n in range(30)]  # fmt: skip
    flags = [1.0 if n >= 25 else 0.0 for n in range(30)]
    expected, long_share = expected_share([e.ts for e in events], flags)
    named = features_of(events)
    assert named["zero_result_share"] == pytest.approx(expected)
    assert named["zero_result_rise"] == pytest.approx(expected - long_share)
    # three days fade the older searches to 1/8: the last one and the prior decide
    assert 0.5 < named["zero_result_share"] < 0.8


def test_a_behaviour_that_stopped_fades_when_the_user_searches_again() -> None:
    history = working_days(days=10, per_day=4)
    last = history[-1].ts
    nights = [search(last + 10 * HOUR + i * 600, 500 + i, result_count=0) for i in range(12)]
    during = features_of(history + nights)
    assert during["off_hours_share"] > 0.7 and during["off_hours_rise"] > 0.4
    # four quiet days, then two ordinary searches: the night no longer reads as recent
    back = last + 5 * 86_400
    after = features_of(history + nights + [search(back, 600), search(back + HOUR, 601)])
    assert after["off_hours_share"] < 0.3
    assert after["off_hours_rise"] == 0.0


def test_rises_compare_a_user_with_their_own_history() -> None:
    # An evening-shift user: every search off-hours, every day. Their share is high, their
    # rise is nil; a day user who starts searching at night rises.
    evening = [search(START + d * 86_400 + (22 + i * 0.5) * HOUR, d * 10 + i)
               for d in range(10) for i in range(4)]  # fmt: skip
    named = features_of(evening)
    assert named["off_hours_share"] == pytest.approx(1.0)
    assert named["off_hours_rise"] == pytest.approx(0.0)
    day = working_days(days=10)
    last = day[-1].ts
    night = [search(last + 12 * HOUR + i * 900, 700 + i) for i in range(4)]
    assert features_of(day + night)["off_hours_rise"] > 0.3


def test_state_stays_small_whatever_the_history() -> None:
    window = BehaviorWindow()
    for n in range(20_000):
        window.update(search(START + n * 60.0, n, host=f"h{n % 50}.example.gov"))
    size = len(orjson.dumps(window.to_list()))
    assert size < 600, size


def test_round_trip_through_json_is_exact() -> None:
    window = BehaviorWindow()
    events = working_days(days=6)
    for event in events[:-3]:
        window.update(event)
    restored = BehaviorWindow.from_list(orjson.loads(orjson.dumps(window.to_list())))
    for event in events[-3:]:
        window.update(event)
        restored.update(event)
    assert restored.features() == window.features()
    assert restored.to_list() == window.to_list()


@pytest.mark.parametrize("data", [[], [99, 1, 2], [1, 0, 0.0, 0.0, [0.0], [], []]])
def test_foreign_state_starts_empty(data: list[Any]) -> None:
    window = BehaviorWindow.from_list(data)
    assert window.event_count == 0
    assert window.features() is None

"""Grouping requests into uses by an event-time gap."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sources.uses import UseGrouper

KEY = ("MPD", "mpd-0001", "PimEyes|commercial-open-web")


def test_the_gap_is_measured_from_the_last_request_of_the_use():
    uses = UseGrouper(gap_s=300)
    assert [uses.starts_use(KEY, t) for t in (0, 290, 580, 870, 1171)] == [
        True,
        False,
        False,
        False,
        True,
    ]


def test_people_and_services_are_grouped_separately():
    uses = UseGrouper(gap_s=300)
    other_user = ("MPD", "mpd-0002", KEY[2])
    other_service = (*KEY[:2], "facecheck.id")
    assert [uses.starts_use(k, 10) for k in (KEY, other_user, other_service, KEY)] == [
        True,
        True,
        True,
        False,
    ]


def test_a_late_record_just_before_the_use_joins_it_and_an_older_one_does_not():
    uses = UseGrouper(gap_s=300)
    assert uses.starts_use(KEY, 1000)
    assert not uses.starts_use(KEY, 800)
    assert uses.starts_use(KEY, 100)


def test_gap_zero_makes_every_distinct_time_a_use():
    uses = UseGrouper(gap_s=0)
    assert [uses.starts_use(KEY, t) for t in (1, 1, 2)] == [True, False, True]


def test_open_uses_are_bounded():
    uses = UseGrouper(gap_s=10, max_open=100)
    for i in range(1000):
        uses.starts_use(("A", f"u{i}", "s"), float(i))
    assert len(uses) <= 100


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 10_000), min_size=1, max_size=60), st.floats(0, 900))
def test_in_time_order_the_uses_are_the_runs_split_by_gaps(times, gap):
    times = sorted(times)
    uses = UseGrouper(gap_s=gap)
    starts = [t for t in times if uses.starts_use(KEY, t)]
    expected = [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] > gap]
    assert starts == expected

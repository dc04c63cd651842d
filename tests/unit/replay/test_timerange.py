"""The event-time range and how it maps onto each partition's offsets."""

from __future__ import annotations

import math

import pytest

from streams.errors import UsageError
from streams.replay.timerange import TimeRange, parse_instant, plan_partition

T1 = 1772409600.0  # 2026-03-02T00:00:00Z


def test_dates_are_utc_midnight_and_offsets_are_honoured() -> None:
    assert parse_instant("2026-03-02", "--from") == T1
    assert parse_instant("2026-03-02T01:00:00+01:00", "--from") == T1
    assert parse_instant("2026-03-02T00:00:00.5Z", "--from") == T1 + 0.5


@pytest.mark.parametrize("text", ["yesterday", "2026-03-02T00:00:00", "2026-13-01", ""])
def test_bad_instants_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--to"):
        parse_instant(text, "--to")


def test_range_is_half_open_and_may_be_unbounded() -> None:
    r = TimeRange.parse("2026-03-02", "2026-03-03")
    assert r.contains(T1) and r.contains(T1 + 86399.999) and not r.contains(T1 + 86400)
    assert not r.contains(T1 - 0.001)
    open_range = TimeRange.parse(None, None)
    assert open_range.start == -math.inf and open_range.end == math.inf
    assert open_range.to_dict() == {"from": None, "to": None}


def test_end_must_follow_start() -> None:
    with pytest.raises(UsageError, match="later"):
        TimeRange.parse("2026-03-03", "2026-03-02")
    with pytest.raises(UsageError):
        TimeRange.parse("2026-03-02", "2026-03-02")


def test_seek_bounds_widen_by_the_slack_in_milliseconds() -> None:
    r = TimeRange.parse("2026-03-02", "2026-03-03")
    assert r.seek_bounds_ms(3600) == (int((T1 - 3600) * 1000), int((T1 + 86400 + 3600) * 1000))
    assert TimeRange.parse(None, "2026-03-03").seek_bounds_ms(0)[0] is None
    assert TimeRange.parse("2026-03-02", None).seek_bounds_ms(0)[1] is None
    assert TimeRange(10.0, 20.0).seek_bounds_ms(3600) == (0, 3_620_000)  # never negative


def test_plan_reads_from_the_first_hit_to_the_stop_hit() -> None:
    plan = plan_partition(0, begin=0, end=1000, start_hit=200, stop_hit=700)
    assert (plan.start, plan.stop, plan.size, plan.empty) == (200, 700, 500, False)


def test_no_message_after_the_start_bound_means_nothing_to_read() -> None:
    plan = plan_partition(1, begin=0, end=1000, start_hit=None, stop_hit=None)
    assert plan.empty and plan.size == 0


def test_no_message_after_the_stop_bound_means_read_to_the_end_snapshot() -> None:
    plan = plan_partition(2, begin=0, end=1000, start_hit=900, stop_hit=None)
    assert (plan.start, plan.stop) == (900, 1000)


def test_offsets_are_clamped_to_what_the_log_still_holds() -> None:
    # Retention deleted offsets below 300; the high watermark was 800 when the run began.
    plan = plan_partition(3, begin=300, end=800, start_hit=100, stop_hit=5000)
    assert (plan.start, plan.stop) == (300, 800)


def test_a_stop_before_the_start_is_an_empty_plan() -> None:
    plan = plan_partition(0, begin=0, end=1000, start_hit=500, stop_hit=400)
    assert plan.empty and plan.stop == plan.start == 500

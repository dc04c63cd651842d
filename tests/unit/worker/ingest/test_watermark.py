"""The ingest stage's event-time merge: what quiet and lagging partitions hold back."""

from __future__ import annotations

from streams.worker.ingest.watermark import EventTimeMerge

NOW_TS = 1_800_000_000.0  # the wall clock, as event time
LIVE_FROM = NOW_TS - 60.0


def test_a_partition_nobody_writes_to_does_not_delay_live_events() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=1.0)
    merge.push(0, NOW_TS - 0.5, "live", now=0.0)
    assert merge.release(now=0.0, quiet={0, 1, 2}, live_from=LIVE_FROM) == ["live"]


def test_backlog_events_wait_briefly_for_a_quiet_partition() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=1.0)
    merge.push(0, NOW_TS - 86_400.0, "yesterday, late batch", now=0.0)
    assert merge.release(now=0.3, quiet={0, 1}, live_from=LIVE_FROM) == []
    merge.push(1, NOW_TS - 2 * 86_400.0, "two days ago", now=0.3)
    assert merge.release(now=0.3, quiet={0, 1}, live_from=LIVE_FROM) == ["two days ago"]
    assert merge.release(now=1.0, quiet={0, 1}, live_from=LIVE_FROM) == ["yesterday, late batch"]


def test_a_lagging_partition_is_waited_for_however_long() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=1.0)
    merge.push(0, NOW_TS - 10.0, "live, but partition 1 has a backlog", now=0.0)
    assert merge.release(now=30.0, lagging={1}, quiet={0}, live_from=LIVE_FROM) == []
    assert merge.release(now=30.0, quiet={0, 1}, live_from=LIVE_FROM) == [
        "live, but partition 1 has a backlog"
    ]

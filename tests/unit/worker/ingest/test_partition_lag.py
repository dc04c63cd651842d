"""The ingest stage's lag clock: which partitions the event-time merge waits for."""

from __future__ import annotations

from streams.worker.ingest.partition_lag import LagClock


def test_a_bulk_load_after_a_long_idle_spell_waits_for_every_partition() -> None:
    # The worker was assigned four partitions and idle for a minute; then a bulk
    # load lands on all four, and the first poll delivers only partition 0's records.
    lag = LagClock(grace_s=5.0)
    assert lag.lagging(dict.fromkeys(range(4), False), now=0.0) == set()
    lag.delivered(0, now=60.0)
    assert lag.lagging(dict.fromkeys(range(4), True), now=60.0) == {0, 1, 2, 3}


def test_a_partition_that_delivers_nothing_holds_the_merge_only_for_the_grace() -> None:
    lag = LagClock(grace_s=5.0)
    assert lag.lagging({0: True, 1: True}, now=10.0) == {0, 1}
    for now in (12.0, 14.0, 16.0):
        lag.delivered(0, now)
        assert lag.lagging({0: True, 1: True}, now) == ({0, 1} if now <= 15.0 else {0})


def test_catching_up_resets_the_clock() -> None:
    lag = LagClock(grace_s=5.0)
    assert lag.lagging({0: True}, now=0.0) == {0}
    assert lag.lagging({0: False}, now=4.0) == set()
    assert lag.lagging({0: True}, now=30.0) == {0}  # behind again: a fresh grace
    lag.forget([0])
    assert lag.lagging({0: True}, now=40.0) == {0}

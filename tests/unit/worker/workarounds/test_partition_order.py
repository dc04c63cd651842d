"""Per-partition offset order: each record handled once, holes reported."""

from __future__ import annotations

from streams.worker.workarounds.partition_order import PartitionOrder


def test_records_in_order_are_next_and_repeats_are_seen() -> None:
    order: PartitionOrder[str] = PartitionOrder()
    verdicts = [order.judge("p", o, committed=100) for o in (100, 101, 102, 101, 100)]
    assert verdicts == [("next", None)] * 3 + [("seen", None)] * 2


def test_a_jump_reports_the_hole_once() -> None:
    order: PartitionOrder[str] = PartitionOrder()
    assert order.judge("p", 5, committed=5) == ("next", None)
    assert order.judge("p", 9, committed=5) == ("next", (6, 8))
    assert order.judge("p", 10, committed=5) == ("next", None)
    assert order.judge("p", 7, committed=5) == ("seen", None)  # read again after a rewind


def test_records_below_the_commit_were_handled_before() -> None:
    order: PartitionOrder[str] = PartitionOrder()
    assert order.judge("p", 7, committed=10) == ("seen", None)
    assert order.judge("p", 12, committed=10) == ("next", (10, 11))


def test_partitions_are_independent_and_can_be_forgotten() -> None:
    order: PartitionOrder[str] = PartitionOrder()
    assert order.judge("a", 3, committed=None) == ("next", None)
    assert order.judge("b", 50, committed=None) == ("next", None)
    order.forget(["a"])
    assert order.judge("a", 1, committed=1) == ("next", None)
    assert order.judge("b", 49, committed=None) == ("seen", None)

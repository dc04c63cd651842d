"""Per-partition offset order: each record handled once, holes read again."""

from __future__ import annotations

from streams.partition_order import InputOrder, InternalOrder


def test_internal_records_after_a_hole_wait_for_it() -> None:
    order: InternalOrder[str] = InternalOrder(give_up_s=30)
    verdicts = [order.judge("p", o, committed=100, now=0.0) for o in (100, 101, 104, 105)]
    assert verdicts == ["next", "next", "rewind", "wait"]
    assert order.expected("p") == 102
    # After the rewind the partition is delivered again from 102.
    again = [order.judge("p", o, committed=100, now=1.0) for o in (102, 103, 104, 105, 104)]
    assert again == ["next", "next", "next", "next", "seen"]


def test_internal_records_below_the_commit_were_judged_before() -> None:
    order: InternalOrder[str] = InternalOrder()
    assert order.judge("p", 7, committed=10, now=0.0) == "seen"
    assert order.judge("p", 10, committed=10, now=0.0) == "next"


def test_a_hole_that_never_fills_is_given_up() -> None:
    order: InternalOrder[str] = InternalOrder(give_up_s=5)
    assert order.judge("p", 50, committed=0, now=0.0) == "rewind"
    assert order.judge("p", 50, committed=0, now=4.0) == "wait"
    assert order.judge("p", 50, committed=0, now=6.0) == "next"


def test_forgotten_partitions_start_again_from_their_commit() -> None:
    order: InternalOrder[str] = InternalOrder()
    assert order.judge("p", 5, committed=5, now=0.0) == "next"
    order.forget(["p"])
    assert order.judge("p", 3, committed=3, now=0.0) == "next"


def test_input_holes_are_remembered_and_filled_once() -> None:
    order: InputOrder[str] = InputOrder()
    assert [order.judge("in", o, committed=None) for o in (0, 1, 5, 6)] == ["next"] * 4
    assert order.holes("in") == [(2, 4)]
    assert [order.judge("in", o, committed=None) for o in (3, 3, 1, 6)] == [
        "resent",
        "seen",
        "seen",
        "seen",
    ]
    assert order.holes("in") == [(2, 2), (4, 4)]


def test_input_holes_are_bounded() -> None:
    order: InputOrder[str] = InputOrder(max_holes=3)
    for offset in range(0, 20, 2):
        order.judge("in", offset, committed=None)
    assert order.holes("in") == [(13, 13), (15, 15), (17, 17)]

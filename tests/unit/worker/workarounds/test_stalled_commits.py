"""Which partitions the stall watch sends back to their committed offset."""

from __future__ import annotations

from streams.worker.workarounds.stalled_commits import PartitionAcks, StallWatch


def test_records_never_delivered_after_the_last_ack_are_found() -> None:
    """A survivor acked and committed up to 39; records 39-42 never reached it."""
    watch: StallWatch[str] = StallWatch(checks=2, patient_checks=6)
    acks = {"p2": PartitionAcks(committed=39, lowest_acked=None, lowest_in_flight=None,
                                read=29, highwater=43)}  # fmt: skip
    seen = [watch.observe(acks) for _ in range(6)]
    assert seen == [[], [], [], [], [], ["p2"]]


def test_a_partition_that_keeps_committing_is_left_alone() -> None:
    watch: StallWatch[str] = StallWatch(checks=2, patient_checks=3)
    for committed in range(100, 110):
        acks = PartitionAcks(committed, None, None, read=None, highwater=committed + 500)
        assert watch.observe({"p0": acks}) == []


def test_caught_up_and_never_committed_partitions_are_left_alone() -> None:
    watch: StallWatch[str] = StallWatch(checks=1, patient_checks=1)
    caught_up = PartitionAcks(43, None, None, read=29, highwater=43)
    never_committed = PartitionAcks(None, None, None, read=None, highwater=43)
    assert watch.observe({"a": caught_up, "b": never_committed}) == []

"""Offsets are committed only past messages that are done, whatever order they finish in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.worker.ingest.offset_tracker import OffsetTracker

TP = ("alerts", 0)


@given(st.permutations(list(range(20))), st.integers(min_value=0, max_value=20))
def test_commit_never_passes_an_unfinished_message(order, finished_count):
    tracker: OffsetTracker[tuple[str, int]] = OffsetTracker()
    for offset in range(20):
        tracker.started(TP, offset)
    done = set(order[:finished_count])
    for offset in order[:finished_count]:
        tracker.finished(TP, offset)
    safe = tracker.commits().get(TP)
    unfinished = set(range(20)) - done
    expected = min(unfinished) if unfinished else 20
    assert safe == expected
    # Everything below the committed offset is done: a restart there loses nothing.
    assert all(offset in done for offset in range(expected))


def test_partitions_are_independent_and_forgotten_on_revoke():
    tracker: OffsetTracker[tuple[str, int]] = OffsetTracker()
    tracker.started(("a", 0), 5)
    tracker.started(("a", 1), 9)
    tracker.finished(("a", 1), 9)
    assert tracker.commits() == {("a", 0): 5, ("a", 1): 10}
    tracker.forget([("a", 1)])
    tracker.finished(("a", 1), 9)  # a late finish for a partition we no longer own
    assert tracker.commits() == {("a", 0): 5}
    assert not tracker.owns(("a", 1))


def test_only_moved_offsets_are_committed_again():
    tracker: OffsetTracker[tuple[str, int]] = OffsetTracker()
    tracker.started(TP, 0)
    tracker.finished(TP, 0)
    tracker.mark_committed(tracker.commits())
    assert tracker.commits() == {}
    tracker.started(TP, 1)
    assert tracker.commits() == {}  # 1 is in flight: still 1, already committed
    tracker.finished(TP, 1)
    assert tracker.commits() == {TP: 2}

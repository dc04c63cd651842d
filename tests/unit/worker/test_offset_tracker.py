"""Commit positions of the ingest stage when records finish out of read order."""

from __future__ import annotations

import random

from streams.offset_tracker import OffsetTracker


def test_the_commit_never_passes_an_unfinished_record() -> None:
    rng = random.Random(7)
    tracker = OffsetTracker()
    offsets = list(range(100, 400, 3))  # gaps between offsets, as after compaction
    for offset in offsets:
        tracker.read(0, offset)
    finished: set[int] = set()
    committed = None
    for offset in rng.sample(offsets, len(offsets)):
        tracker.done(0, offset)
        finished.add(offset)
        committed = tracker.committable().get(0, committed)
        assert committed is not None
        assert all(o in finished for o in offsets if o < committed)
        unfinished = [o for o in offsets if o not in finished]
        assert committed == (min(unfinished) if unfinished else offsets[-1] + 1)
    assert committed == offsets[-1] + 1


def test_partitions_commit_independently() -> None:
    tracker = OffsetTracker()
    tracker.read(0, 5)
    tracker.read(1, 50)
    tracker.done(1, 50)
    assert tracker.committable() == {0: 5, 1: 51}
    assert tracker.pending() == 1
    assert tracker.next_offset(0) == 6 and tracker.next_offset(2) is None


def test_a_failed_commit_is_offered_again() -> None:
    tracker = OffsetTracker()
    tracker.read(3, 0)
    tracker.done(3, 0)
    assert tracker.committable() == {3: 1}
    assert tracker.committable() == {}
    tracker.uncommit([3])
    assert tracker.committable() == {3: 1}


def test_a_revoked_partition_is_forgotten() -> None:
    tracker = OffsetTracker()
    tracker.read(2, 10)
    tracker.forget([2])
    assert tracker.committable() == {} and tracker.pending() == 0
    tracker.read(2, 40)  # assigned again later, from another member's commit
    assert tracker.committable() == {2: 40}

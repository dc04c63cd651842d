"""The event-time merge: the replay order does not depend on how reads were batched."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.judge.watermark import Watermark


def _feed(
    partitions: dict[int, list[float]], chunk_sizes: list[int], seed: int
) -> list[tuple[float, int, int]]:
    """Deliver each partition in random-sized chunks in a random interleaving; collect releases."""
    rng = random.Random(seed)
    merger: Watermark[str] = Watermark(list(partitions))
    cursors = dict.fromkeys(partitions, 0)
    released: list[tuple[float, int, int]] = []
    sizes = iter(chunk_sizes * 1000)
    while any(cursors[p] < len(ts) for p, ts in partitions.items()):
        p = rng.choice([p for p, ts in partitions.items() if cursors[p] < len(ts)])
        start = cursors[p]
        end = min(len(partitions[p]), start + next(sizes))
        merger.add(p, [(partitions[p][o], o, f"{p}:{o}") for o in range(start, end)])
        cursors[p] = end
        if end == len(partitions[p]):
            merger.finish(p)
        released += [(ts, part, off) for ts, part, off, _ in merger.release()]
    for p in partitions:
        merger.finish(p)
    released += [(ts, part, off) for ts, part, off, _ in merger.release()]
    return released


in_order_partitions = st.dictionaries(
    st.integers(0, 5),
    st.lists(st.integers(0, 50), max_size=30).map(lambda xs: [float(x) for x in sorted(xs)]),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(in_order_partitions, st.lists(st.integers(1, 7), min_size=1, max_size=5), st.integers(0, 99))
def test_in_order_partitions_give_the_global_sort_however_they_arrive(
    partitions: dict[int, list[float]], chunk_sizes: list[int], seed: int
) -> None:
    released = _feed(partitions, chunk_sizes, seed)
    expected = sorted((ts, p, o) for p, tss in partitions.items() for o, ts in enumerate(tss))
    assert released == expected


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.integers(0, 3), st.lists(st.integers(0, 50).map(float), max_size=25), min_size=1
    ),
    st.lists(st.integers(1, 7), min_size=1, max_size=5),
    st.integers(0, 99),
)
def test_every_event_is_released_once_and_partition_order_is_kept(
    partitions: dict[int, list[float]], chunk_sizes: list[int], seed: int
) -> None:
    released = _feed(partitions, chunk_sizes, seed)
    assert sorted(released) == sorted(
        (ts, p, o) for p, tss in partitions.items() for o, ts in enumerate(tss)
    )
    for p in partitions:
        offsets = [o for _, part, o in released if part == p]
        assert offsets == sorted(offsets)  # offset order within a partition, late events too


def test_nothing_is_released_until_every_open_partition_has_spoken() -> None:
    merger: Watermark[str] = Watermark([0, 1, 2])
    merger.add(0, [(5.0, 0, "a")])
    merger.add(1, [(7.0, 0, "b")])
    assert merger.release() == []
    merger.finish(2)  # an empty partition
    assert merger.release() == []  # a (5) is at the watermark: p0 may send more at 5
    merger.add(0, [(6.0, 1, "c")])
    assert [e for *_, e in merger.release()] == ["a"]
    assert merger.released_to == 6.0


def test_a_late_event_stays_behind_its_partition_predecessors() -> None:
    merger: Watermark[str] = Watermark([0, 1])
    merger.add(0, [(10.0, 0, "p0-10"), (3.0, 1, "p0-late-3")])
    merger.add(1, [(4.0, 0, "p1-4"), (12.0, 1, "p1-12")])
    # Watermark 10 (p0's newest): p1's 4 is below it; p0's 10 is not, so its late 3 waits too.
    assert [e for *_, e in merger.release()] == ["p1-4"]
    merger.add(0, [(11.0, 2, "p0-11")])
    # Watermark 11: p0's prefix 10, late 3 (kept behind 10), and nothing more from p1.
    assert [e for *_, e in merger.release()] == ["p0-10", "p0-late-3"]
    merger.finish(0)
    merger.finish(1)
    assert [e for *_, e in merger.release()] == ["p0-11", "p1-12"]


def test_buffered_counts_per_partition() -> None:
    merger: Watermark[str] = Watermark([0, 1])
    merger.add(0, [(float(i), i, "x") for i in range(5)])
    assert merger.buffered(0) == 5 and merger.buffered() == 5


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 30).map(float), max_size=20),
    st.lists(st.integers(0, 30).map(float), max_size=20),
    st.integers(1, 6),
)
def test_bulk_extend_releases_what_add_releases(
    first: list[float], second: list[float], size: int
) -> None:
    by_add: Watermark[int] = Watermark([0, 1])
    by_extend: Watermark[int] = Watermark([0, 1])
    out_add, out_extend = [], []
    for p, times in ((0, first), (1, second)):
        for start in range(0, len(times), size):
            chunk = [(ts, start + i, start + i) for i, ts in enumerate(times[start : start + size])]
            by_add.add(p, chunk)
            by_extend.extend(
                p,
                [(ts, p, off, payload) for ts, off, payload in chunk],
                max((ts for ts, _, _ in chunk), default=float("-inf")),
                all(a[0] <= b[0] for a, b in itertools.pairwise(chunk)),
            )
            out_add += by_add.release()
            out_extend += by_extend.release()
    for merger, out in ((by_add, out_add), (by_extend, out_extend)):
        merger.finish(0)
        merger.finish(1)
        out += merger.release()
    assert out_add == out_extend


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 8).map(float), min_size=1, max_size=40),
    st.integers(1, 4),
    st.lists(st.integers(1, 7), min_size=1, max_size=5),
    st.integers(0, 99),
)
def test_equal_times_come_out_in_tie_order_whatever_the_partitioning(
    times: list[float], n_partitions: int, chunk_sizes: list[int], seed: int
) -> None:
    """Many events share a time; spread over partitions at random (each partition in time
    order, equal times in any order) they are released in (ts, event id) order."""
    rng = random.Random(seed)
    events = [(ts, f"e{i:03d}") for i, ts in enumerate(times)]
    spread: dict[int, list[tuple[float, str]]] = {p: [] for p in range(n_partitions)}
    for event in rng.sample(events, len(events)):
        spread[rng.randrange(n_partitions)].append(event)
    merger: Watermark[str] = Watermark(list(spread), tie=str)
    sizes = itertools.cycle(chunk_sizes)
    cursors = dict.fromkeys(spread, 0)
    for part in spread.values():
        part.sort(key=lambda e: e[0])  # stable: equal times keep their random order
    released: list[str] = []
    while any(cursors[p] < len(evs) for p, evs in spread.items()):
        p = rng.choice([p for p, evs in spread.items() if cursors[p] < len(evs)])
        start, end = cursors[p], min(len(spread[p]), cursors[p] + next(sizes))
        merger.add(p, [(ts, o, eid) for o, (ts, eid) in enumerate(spread[p][start:end], start)])
        cursors[p] = end
        if end == len(spread[p]):
            merger.finish(p)
        released += [eid for *_, eid in merger.release()]
    for p in spread:
        merger.finish(p)
    released += [eid for *_, eid in merger.release()]
    assert released == [eid for _, eid in sorted(events)]

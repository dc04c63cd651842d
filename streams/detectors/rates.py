"""Search rates in event time: a user's sliding window, own baseline, and agency peers.

Time is cut into *fine buckets* of ``window / 12`` seconds. A user's current
window is their last 12 fine buckets (so a 1 h window is counted in 5-minute
steps and covers between 55 and 60 minutes). When a bucket leaves the window
its searches are added to the window-aligned *period* it belongs to (a clock
hour by default), and a finished period is added to a *baseline slot* (a day
by default): ``searches`` and ``active periods``. A user's own normal rate is
``searches / active periods`` over the last 14 slots: the typical number of
searches in a window in which they searched at all, never counting the
window being judged.

An agency keeps the same 12 fine buckets of all its members' searches, plus
one histogram entry per member: in the bucket of their newest search, in the
bin of their window count at that search. The members active in a window are
the entries inside it; the peers' rate for a user is the median of the other
active members' counts (a few always-busy analysts do not move a median), and
their mean is reported alongside.

>>> geo = RateGeometry.from_settings(window_s=3600.0, baseline_s=14 * 86400.0)
>>> geo.width, geo.slot_periods
(300.0, 24)
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

from streams.detectors.state import (
    BASELINE_SLOTS,
    FINE_BUCKETS,
    PEER_BINS,
    AgencyState,
    UserState,
)

_LAST = FINE_BUCKETS - 1
_SLOT_RING = BASELINE_SLOTS + 1
_CELLS = FINE_BUCKETS * PEER_BINS
PEER_BIN_FLOORS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
"""Lower bounds of the window-count bins of the agency's member histogram."""
assert len(PEER_BIN_FLOORS) == PEER_BINS


@dataclass(frozen=True, slots=True)
class RateGeometry:
    """Bucket width and baseline slot size derived from the burst settings."""

    width: float
    slot_periods: int

    @classmethod
    def from_settings(cls, window_s: float, baseline_s: float) -> RateGeometry:
        width = window_s / FINE_BUCKETS
        slot_periods = max(1, int(baseline_s // window_s) // BASELINE_SLOTS)
        return cls(width, slot_periods)

    @property
    def key(self) -> tuple[float, int]:
        return (self.width, self.slot_periods)


def _close_period(state: UserState, slot_periods: int) -> None:
    """Add the finished pending period to its baseline slot."""
    _add_to_slot(state, state.pending_period // slot_periods, state.pending_count, 1)
    state.pending_count = 0


def _add_to_slot(state: UserState, slot: int, searches: int, periods: int) -> None:
    shift = slot - state.slot_base
    if shift > 0:
        if shift >= _SLOT_RING:
            state.slot_counts = [0] * _SLOT_RING
            state.slot_active = [0] * _SLOT_RING
        else:
            del state.slot_counts[:shift]
            del state.slot_active[:shift]
            state.slot_counts.extend([0] * shift)
            state.slot_active.extend([0] * shift)
        state.slot_base = slot
    index = slot - state.slot_base + BASELINE_SLOTS
    if index >= 0:
        state.slot_counts[index] += searches
        state.slot_active[index] += periods


def count_user(state: UserState, geometry: RateGeometry, bucket: int) -> None:
    """Count one search of the user in fine bucket ``bucket``."""
    base = state.fine_base
    if bucket > base:
        fine = state.fine
        shift = bucket - base
        for k in range(min(shift, FINE_BUCKETS)):
            count = fine[k]
            if count:
                period = (base - _LAST + k) // FINE_BUCKETS
                if period != state.pending_period:
                    if state.pending_count:
                        _close_period(state, geometry.slot_periods)
                    state.pending_period = period
                state.pending_count += count
        if shift >= FINE_BUCKETS:
            state.fine = fine = [0] * FINE_BUCKETS
        else:
            del fine[:shift]
            fine.extend([0] * shift)
        state.fine_base = bucket
        # No bucket still in the window belongs to an older period: it is finished.
        if state.pending_count and state.pending_period < (bucket - _LAST) // FINE_BUCKETS:
            _close_period(state, geometry.slot_periods)
        fine[_LAST] += 1
    elif bucket > base - FINE_BUCKETS:
        state.fine[bucket - base + _LAST] += 1
    else:
        # Out of order, before the window but within the allowed lateness: too
        # old for any window still judged, so it only feeds the baseline.
        period = bucket // FINE_BUCKETS
        if period == state.pending_period:
            state.pending_count += 1
        elif period > state.pending_period:
            if state.pending_count:
                _close_period(state, geometry.slot_periods)
            state.pending_period = period
            state.pending_count = 1
        else:  # its period is already in the baseline: add the search, not another period
            _add_to_slot(state, period // geometry.slot_periods, 1, 0)


def window_count(state: UserState, bucket: int) -> int:
    """The user's searches in the window ending with fine bucket ``bucket``."""
    end = bucket - state.fine_base + _LAST
    if end >= _LAST:
        return sum(state.fine)
    if end < 0:
        return 0
    return sum(state.fine[: end + 1])


def own_rate(state: UserState, geometry: RateGeometry, bucket: int) -> tuple[float, int]:
    """The user's normal searches per active window over the baseline, and how many windows."""
    slot = bucket // FINE_BUCKETS // geometry.slot_periods
    start = max(0, slot - state.slot_base)
    if start == 0:
        active = sum(state.slot_active)
        searches = sum(state.slot_counts)
    elif start < _SLOT_RING:
        active = sum(state.slot_active[start:])
        searches = sum(state.slot_counts[start:])
    else:
        return 0.0, 0
    # The pending period overlaps the window being judged (count_user closes it
    # as soon as it does not), so it is left out.
    return (searches / active if active else 0.0), active


def count_agency(state: AgencyState, bucket: int, ts: float) -> None:
    """Count one search of any member of the agency in fine bucket ``bucket``."""
    if ts < state.since:
        state.since = ts
    shift = bucket - state.base
    if shift > 0:
        if shift >= FINE_BUCKETS:
            state.counts = [0] * FINE_BUCKETS
            state.members = [0] * _CELLS
        else:
            del state.counts[:shift]
            del state.members[: shift * PEER_BINS]
            state.counts.extend([0] * shift)
            state.members.extend([0] * (shift * PEER_BINS))
        state.base = bucket
        state.counts[_LAST] += 1
    elif shift > -FINE_BUCKETS:
        state.counts[shift + _LAST] += 1


def peer_bin(count: int) -> int:
    """The histogram bin of a window count (bins start at :data:`PEER_BIN_FLOORS`)."""
    return bisect_right(PEER_BIN_FLOORS, count) - 1 if count > 0 else 0


def move_member(
    state: AgencyState, old_bucket: int | None, old_count: int, new_bucket: int, new_count: int
) -> None:
    """A member's newest search moved from ``old_bucket`` (None: first search) to ``new_bucket``.

    ``old_count``/``new_count`` are the member's window counts at those searches.
    """
    base = state.base
    members = state.members
    if old_bucket is not None:
        index = old_bucket - base + _LAST
        if 0 <= index < FINE_BUCKETS:
            cell = index * PEER_BINS + peer_bin(old_count)
            if members[cell] > 0:
                members[cell] -= 1
    index = new_bucket - base + _LAST
    if 0 <= index < FINE_BUCKETS:
        members[index * PEER_BINS + peer_bin(new_count)] += 1


@dataclass(frozen=True, slots=True)
class PeerRate:
    """The other active members of the agency in a window."""

    typical: float  # median window count, by the floor of its histogram bin
    mean: float  # their searches in the window per member
    members: int


NO_PEERS = PeerRate(0.0, 0.0, 0)


def peer_rate(agency: AgencyState, user: UserState, width: float, bucket: int) -> PeerRate:
    """How hard the user's active colleagues (the user left out) search in the window.

    The typical colleague is the median, not the mean: a few analysts who
    always run twenty searches an hour must not hide a colleague's burst.
    """
    end = bucket - agency.base + _LAST
    if end < 0:
        return NO_PEERS
    first = max(0, end - _LAST)
    histogram = [0] * PEER_BINS
    members = agency.members
    for index in range(first, min(end, _LAST) + 1):
        row = index * PEER_BINS
        for k in range(PEER_BINS):
            histogram[k] += members[row + k]
    searches = sum(agency.counts[first : end + 1])
    if user.newest != -math.inf:
        marker = int(user.newest // width)
        if bucket - _LAST <= marker <= bucket:
            own_bin = peer_bin(user.last_count)
            if histogram[own_bin] > 0:
                histogram[own_bin] -= 1
        searches -= window_count(user, bucket)
    total = sum(histogram)
    if total <= 0:
        return NO_PEERS
    rank = (total + 1) // 2
    seen = 0
    typical = 0.0
    for k, n in enumerate(histogram):
        seen += n
        if seen >= rank:
            typical = float(PEER_BIN_FLOORS[k])
            break
    return PeerRate(typical, max(0, searches) / total, total)

"""Per-user and per-agency detection state: small bounded records, cheap to serialise.

The worker keeps one :class:`UserState` per ``<agency>/<user>`` and one
:class:`AgencyState` per agency in changelogged tables, so every record is
written to Kafka after each event. That is why every list here has a hard cap,
numbers are kept as small integers where possible, and the wire form is a
positional JSON array (no field names) behind a version number.

What a user's record holds, and why:

* ``newest`` - the newest counted event time; lateness is judged against it.
* ``dedupe`` - 40-bit hashes of the last :data:`DEDUPE_CAP` event ids, so a
  redelivered event changes nothing.
* fine buckets - the user's searches in the current sliding window, in
  :data:`FINE_BUCKETS` buckets of ``window / 12`` seconds; ``last_count`` is
  the window's count at the newest search (the agency's histogram holds it).
* baseline slots - searches and active windows per slot (a day by default)
  over the baseline period, fed only by buckets that have left the window.
* ``recent`` - the last few evidence ``(ts, event_id)`` pairs while a burst is
  plausible, so a burst alert can show what led up to it.
* ``folds`` - open alerts (at most :data:`FOLD_CAP` of the rules and
  :data:`BEHAVIOR_FOLD_CAP` of the behaviour model), see :mod:`.folding`.
* ``behavior`` - the behaviour model's feature window.

>>> state = UserState()
>>> state.remember(event_hash("e1"))
>>> again = UserState.from_bytes(state.to_bytes())
>>> again.has_seen(event_hash("e1")), again.has_seen(event_hash("e2"))
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import Any, Self

import orjson

from models.features import BehaviorWindow
from streams.contract.alert import DETECTORS
from streams.errors import FrtwatchError

STATE_VERSION = 1
DEDUPE_CAP = 32
"""Event-id hashes remembered per user (redeliveries come close together)."""
HASH_BYTES = 5
"""40-bit hashes: a false duplicate among 32 remembered ids is ~3e-11 per event."""
FINE_BUCKETS = 12
"""Buckets per sliding window: a 1 h window is counted in 5-minute steps."""
BASELINE_SLOTS = 14
"""Slots the baseline period is divided into (days, with the default 14 d baseline)."""
RECENT_CAP = 4
"""Evidence ids kept for a burst alert's opening."""
FOLD_CAP = 16
"""Open rule alerts per user; the oldest is closed first when more open."""
BEHAVIOR_FOLD_CAP = 4
"""Open behaviour alerts per user, capped apart from the rules' (their scores are applied
after their batch, so sharing one cap would make what is closed depend on batch size)."""
FOLD_EVIDENCE_CAP = 10
"""Evidence ids kept per open alert (the alert itself caps at 100)."""
AGENCY_HOST_CAP = 64
"""Unapproved hosts an agency remembers, to mark the first time one is used."""
PEER_BINS = 12
"""Bins of the agency's histogram of its active members' window counts (see :mod:`.rates`)."""

_DEDUPE_BYTES = DEDUPE_CAP * HASH_BYTES
_MEMBER_CELLS = FINE_BUCKETS * PEER_BINS
_DETECTOR_INDEX = {name: i for i, name in enumerate(DETECTORS)}


class StateFormatError(FrtwatchError):
    """A stored state record that cannot be read (corrupt, or from a newer version)."""


def event_hash(event_id: str) -> bytes:
    """The dedupe key of an event id: stable across processes (unlike ``hash()``)."""
    return hashlib.blake2b(event_id.encode("utf-8"), digest_size=HASH_BYTES).digest()


class Fold:
    """One open alert: how much evidence it has, from when to when, and the first ids."""

    __slots__ = ("count", "event_ids", "first_ts", "last_ts")

    def __init__(self, count: int, first_ts: float, last_ts: float, event_ids: list[str]) -> None:
        self.count = count
        self.first_ts = first_ts
        self.last_ts = last_ts
        self.event_ids = event_ids

    def __repr__(self) -> str:
        return f"Fold(count={self.count}, first_ts={self.first_ts}, last_ts={self.last_ts})"


FoldKey = tuple[str, str, int]
"""``(detector, subject, period_start)``: the identity of an alert for one user."""


class UserState:
    """One user's detection state (see the module docstring for what each part is for)."""

    __slots__ = (
        "behavior",
        "dedupe",
        "fine",
        "fine_base",
        "folds",
        "geometry",
        "last_count",
        "newest",
        "pending_count",
        "pending_period",
        "recent",
        "slot_active",
        "slot_base",
        "slot_counts",
    )

    def __init__(self) -> None:
        self.newest = -math.inf
        # Fixed-width hashes back to back, oldest first: one small bytes object is
        # cheaper to search, copy and serialise than a list of them.
        self.dedupe = b""
        # (fine bucket width in seconds, windows per baseline slot); rates are
        # reset if a policy change alters them.
        self.geometry: tuple[float, int] = (0.0, 0)
        self.fine_base = 0
        self.fine = [0] * FINE_BUCKETS
        self.last_count = 0
        self.pending_period = -1
        self.pending_count = 0
        self.slot_base = 0
        self.slot_counts = [0] * (BASELINE_SLOTS + 1)
        self.slot_active = [0] * (BASELINE_SLOTS + 1)
        self.recent: list[tuple[float, str]] = []
        self.folds: dict[FoldKey, Fold] = {}
        self.behavior = BehaviorWindow()

    def has_seen(self, key: bytes) -> bool:
        """Whether the event with dedupe key ``key`` (see :func:`event_hash`) was processed."""
        dedupe = self.dedupe
        at = dedupe.find(key)
        while at >= 0:
            if at % HASH_BYTES == 0:
                return True
            at = dedupe.find(key, at + 1)
        return False

    def remember(self, key: bytes) -> None:
        dedupe = self.dedupe + key
        if len(dedupe) > _DEDUPE_BYTES:
            dedupe = dedupe[HASH_BYTES:]
        self.dedupe = dedupe

    @property
    def remembered(self) -> int:
        """How many event ids the dedupe ring holds."""
        return len(self.dedupe) // HASH_BYTES

    def reset_rates(self, geometry: tuple[float, int]) -> None:
        """Forget counted rates (first event, or the window settings changed)."""
        self.geometry = geometry
        self.fine_base = 0
        self.fine = [0] * FINE_BUCKETS
        self.last_count = 0
        self.pending_period = -1
        self.pending_count = 0
        self.slot_base = 0
        self.slot_counts = [0] * (BASELINE_SLOTS + 1)
        self.slot_active = [0] * (BASELINE_SLOTS + 1)
        self.recent = []

    def to_bytes(self) -> bytes:
        folds = [
            [_DETECTOR_INDEX[d], s, p, f.count, f.first_ts, f.last_ts, f.event_ids]
            for (d, s, p), f in self.folds.items()
        ]
        recent: list[Any] = []
        for ts, event_id in self.recent:
            recent += (ts, event_id)
        return orjson.dumps(
            [
                STATE_VERSION,
                self.newest if self.newest != -math.inf else None,
                self.geometry,
                self.fine_base,
                self.fine,
                self.last_count,
                self.pending_period,
                self.pending_count,
                self.slot_base,
                self.slot_counts,
                self.slot_active,
                recent,
                base64.b64encode(self.dedupe).decode("ascii"),
                folds,
                self.behavior.to_list(),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        try:
            row = orjson.loads(data)
            if not isinstance(row, list) or not row or row[0] != STATE_VERSION:
                version = row[0] if isinstance(row, list) and row else None
                raise StateFormatError(f"unsupported user state version {version!r}")
            (_, newest, geometry, fine_base, fine, last_count, pending_period, pending_count,
             slot_base, slot_counts, slot_active, recent, dedupe, folds, behavior) = row  # fmt: skip
            if (
                len(fine) != FINE_BUCKETS
                or len(slot_counts) != BASELINE_SLOTS + 1
                or len(slot_active) != BASELINE_SLOTS + 1
            ):
                raise StateFormatError("user state has rate lists of the wrong length")
            # The record is our own versioned output: the lists orjson built are
            # used as they are, and only their shape is checked (this runs per event).
            state = cls.__new__(cls)
            state.newest = -math.inf if newest is None else float(newest)
            state.geometry = (float(geometry[0]), int(geometry[1]))
            state.fine_base = int(fine_base)
            state.fine = fine
            state.last_count = int(last_count)
            state.pending_period = int(pending_period)
            state.pending_count = int(pending_count)
            state.slot_base = int(slot_base)
            state.slot_counts = slot_counts
            state.slot_active = slot_active
            state.recent = (
                [(float(recent[i]), str(recent[i + 1])) for i in range(0, len(recent) - 1, 2)][
                    -RECENT_CAP:
                ]
                if recent
                else []
            )
            raw = base64.b64decode(dedupe)
            state.dedupe = raw[len(raw) % HASH_BYTES :][-_DEDUPE_BYTES:]
            state.folds = {}
            for d, s, p, count, first_ts, last_ts, ids in folds[-(FOLD_CAP + BEHAVIOR_FOLD_CAP) :]:
                state.folds[(DETECTORS[d], str(s), int(p))] = Fold(
                    int(count), float(first_ts), float(last_ts), [str(i) for i in ids]
                )
            state.behavior = BehaviorWindow.from_list(behavior)
        except StateFormatError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise StateFormatError(f"unreadable user state: {exc}") from None
        return state


class AgencyState:
    """An agency's activity in the current window, for its members' peer rate.

    ``counts[i]`` is the agency's searches in fine bucket ``base - 11 + i``.
    ``members`` is a histogram per fine bucket: ``members[i * PEER_BINS + k]``
    members made their newest search in bucket ``base - 11 + i`` with a window
    count in bin ``k`` at that moment. The members active in a window are the
    entries inside it, and their counts give the typical active colleague's
    rate. ``since`` is when the agency was first counted (its rates' age).
    ``hosts`` maps unapproved hosts the agency used to the first time it did.
    """

    __slots__ = ("base", "counts", "hosts", "members", "since", "width")

    def __init__(self) -> None:
        self.width = 0.0
        self.since = math.inf
        self.base = 0
        self.counts = [0] * FINE_BUCKETS
        self.members = [0] * _MEMBER_CELLS
        self.hosts: dict[str, float] = {}

    def reset_rates(self, width: float) -> None:
        self.width = width
        self.since = math.inf
        self.base = 0
        self.counts = [0] * FINE_BUCKETS
        self.members = [0] * _MEMBER_CELLS

    def note_host(self, host: str, ts: float) -> float:
        """Record that the agency used ``host`` at ``ts``; return the first time it did."""
        hosts = self.hosts
        first = hosts.get(host)
        if first is None:
            hosts[host] = ts
            if len(hosts) > AGENCY_HOST_CAP:
                del hosts[min(hosts, key=hosts.__getitem__)]
            return ts
        if ts < first:
            hosts[host] = ts
            return ts
        return first

    def to_bytes(self) -> bytes:
        hosts: list[Any] = []
        for host, ts in self.hosts.items():
            hosts += (host, ts)
        members: list[int] = []  # sparse: cell, value, cell, value, ...
        for cell, value in enumerate(self.members):
            if value:
                members += (cell, value)
        since = self.since if self.since != math.inf else None
        return orjson.dumps(
            [STATE_VERSION, self.width, since, self.base, self.counts, members, hosts]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        try:
            row = orjson.loads(data)
            if not isinstance(row, list) or not row or row[0] != STATE_VERSION:
                version = row[0] if isinstance(row, list) and row else None
                raise StateFormatError(f"unsupported agency state version {version!r}")
            _, width, since, base, counts, members, hosts = row
            if len(counts) != FINE_BUCKETS:
                raise StateFormatError("agency state has rate lists of the wrong length")
            state = cls()
            state.width = float(width)
            state.since = math.inf if since is None else float(since)
            state.base = int(base)
            state.counts = counts
            for i in range(0, len(members) - 1, 2):
                state.members[members[i]] = int(members[i + 1])
            pairs = [(str(hosts[i]), float(hosts[i + 1])) for i in range(0, len(hosts) - 1, 2)]
            state.hosts = dict(pairs[-AGENCY_HOST_CAP:])
        except StateFormatError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise StateFormatError(f"unreadable agency state: {exc}") from None
        return state

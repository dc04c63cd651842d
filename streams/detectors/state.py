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

An agency's record holds its members' peer rates, the unapproved hosts it used, its
agency-wide open alerts, its event-time ``clock`` (the newest event time judged for it) and the index of its members'
open alerts by close time (``due``, ``due_behavior``: user -> the earliest
``last_seen + session gap`` of their open rule and behaviour alerts), so the alerts of a
user who goes silent still close when the agency's clock passes them. The index holds
at most :data:`AGENCY_DUE_CAP` users (see :mod:`streams.judge.batch`).

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

STATE_VERSION = 2
"""Version 2: alerts are sessions (folds keyed by detector and subject, with their opening
evidence and last phrasing); agencies keep a clock and an index of open alerts. Version 1
records are still read (their folds become sessions opened at their first evidence)."""
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
AGENCY_FOLD_CAP = 64
"""Open agency-wide alerts per agency (``alert_per: agency``); the least recent is closed
first when more open."""
FOLD_USER_CAP = 50
"""Members an agency-wide alert names; beyond it the alert says there are more."""
AGENCY_DUE_CAP = 4096
"""Users of one agency with open alerts the agency's close index holds (about 30 bytes
each); beyond it, the user whose alerts would close first has them closed at once."""
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
    """One open alert: how much evidence it has, from when to when, and the first ids.

    ``opened_ts`` and ``opened_by`` are the event time and id of its opening evidence (its
    identity: :func:`streams.contract.alert.make_alert_id`); ``day`` is the UTC day number
    of ``last_ts`` when it was last published, ``emitted`` its count then, and
    ``summary``/``details`` that version's wording, which its closing version restates.
    """

    __slots__ = (
        "arrived",
        "count",
        "day",
        "details",
        "emitted",
        "event_ids",
        "first_ts",
        "last_ts",
        "more_users",
        "opened_by",
        "opened_ts",
        "summary",
        "users",
    )

    def __init__(
        self,
        count: int,
        first_ts: float,
        last_ts: float,
        event_ids: list[str],
        opened_ts: float | None = None,
        opened_by: str | None = None,
    ) -> None:
        self.count = count
        self.first_ts = first_ts
        self.last_ts = last_ts
        self.event_ids = event_ids
        self.opened_ts = first_ts if opened_ts is None else opened_ts
        self.opened_by = (event_ids[0] if event_ids else "") if opened_by is None else opened_by
        self.day = -1
        self.emitted = 0
        self.summary = ""
        self.details: dict[str, Any] = {}
        # An agency-wide alert's members and their searches, in order of their first
        # evidence (at most FOLD_USER_CAP); None for a user's own alert.
        self.users: dict[str, int] | None = None
        self.more_users = False
        # A late alert's: the agency's clock when evidence last joined it (it closes a
        # gap after that); -inf for an ordinary alert.
        self.arrived = -math.inf

    def add_user(self, user: str) -> None:
        """Count a search of ``user`` in an agency-wide alert (members past the cap are
        not named: the alert only says there are more)."""
        users = self.users
        if users is None:
            self.users = {user: 1}
        elif user in users:
            users[user] += 1
        elif len(users) < FOLD_USER_CAP:
            users[user] = 1
        else:
            self.more_users = True

    def __repr__(self) -> str:
        return f"Fold(count={self.count}, first_ts={self.first_ts}, last_ts={self.last_ts})"


FoldKey = tuple[str, str]
"""``(detector, subject)``: a user has at most one open alert per key."""


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
        # Sorted: the order folds were opened in may depend on when a batch's scores
        # were applied; the stored record must not.
        folds = _fold_rows(self.folds)
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
            if not isinstance(row, list) or not row or row[0] not in (1, STATE_VERSION):
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
            state.folds = _folds(folds) if row[0] == STATE_VERSION else _folds_v1(folds)
            state.behavior = BehaviorWindow.from_list(behavior)
        except StateFormatError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise StateFormatError(f"unreadable user state: {exc}") from None
        return state


def _fold_rows(folds: dict[FoldKey, Fold]) -> list[list[Any]]:
    """Folds as positional rows, sorted by key; an agency-wide alert's row also holds
    its members and whether there were more."""
    rows = []
    for (d, s), f in sorted(folds.items()):
        row = [_DETECTOR_INDEX[d], s, f.count, f.first_ts, f.last_ts, f.event_ids, f.opened_ts,
               f.opened_by, f.day, f.emitted, f.summary, f.details]  # fmt: skip
        if f.users is not None or f.arrived != -math.inf:
            users = None if f.users is None else [x for pair in f.users.items() for x in pair]
            row += (users, f.more_users)
        if f.arrived != -math.inf:
            row.append(f.arrived)
        rows.append(row)
    return rows


def _folds(rows: list[Any], cap: int = FOLD_CAP + BEHAVIOR_FOLD_CAP) -> dict[FoldKey, Fold]:
    folds: dict[FoldKey, Fold] = {}
    for row in rows[-cap:]:
        (d, s, count, first_ts, last_ts, ids, opened_ts, opened_by, day, emitted, summary,
         details) = row[:12]  # fmt: skip
        fold = Fold(int(count), float(first_ts), float(last_ts), [str(i) for i in ids],
                    float(opened_ts), str(opened_by))  # fmt: skip
        fold.day, fold.emitted, fold.summary = int(day), int(emitted), str(summary)
        fold.details = details if isinstance(details, dict) else {}
        if len(row) >= 14 and row[12] is not None:
            pairs = row[12]
            fold.users = {str(pairs[i]): int(pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)}
            fold.more_users = bool(row[13])
        if len(row) >= 15:
            fold.arrived = float(row[14])
        folds[(DETECTORS[d], str(s))] = fold
    return folds


def _folds_v1(rows: list[Any]) -> dict[FoldKey, Fold]:
    """Version 1 folds (one per suppression period): the latest of each detector and
    subject, as a session opened at its first evidence."""
    folds: dict[FoldKey, Fold] = {}
    for d, s, _, count, first_ts, last_ts, ids in rows[-(FOLD_CAP + BEHAVIOR_FOLD_CAP) :]:
        key = (DETECTORS[d], str(s))
        known = folds.get(key)
        if known is None or float(last_ts) > known.last_ts:
            fold = Fold(int(count), float(first_ts), float(last_ts), [str(i) for i in ids])
            fold.day, fold.emitted = int(float(last_ts) // 86400), int(count)
            folds[key] = fold
    return folds


class AgencyState:
    """An agency's activity in the current window, for its members' peer rate.

    ``counts[i]`` is the agency's searches in fine bucket ``base - 11 + i``.
    ``members`` is a histogram per fine bucket: ``members[i * PEER_BINS + k]``
    members made their newest search in bucket ``base - 11 + i`` with a window
    count in bin ``k`` at that moment. The members active in a window are the
    entries inside it, and their counts give the typical active colleague's
    rate. ``since`` is when the agency was first counted (its rates' age).
    ``hosts`` maps unapproved hosts the agency used to the first time it did.
    ``clock`` is the newest event time judged for the agency; ``due`` and
    ``due_behavior`` map members with open rule or behaviour alerts to the earliest
    time one of them closes (``last_seen + session gap``; it closes once ``clock``
    is past it). ``next_due`` is a lower bound of ``due`` (not stored). ``folds`` holds
    the agency-wide open alerts (detectors with ``alert_per: agency``), at most
    :data:`AGENCY_FOLD_CAP`; a version 2 record without them reads as none open.
    """

    __slots__ = (
        "base",
        "clock",
        "counts",
        "due",
        "due_behavior",
        "folds",
        "folds_due",
        "hosts",
        "members",
        "next_due",
        "since",
        "width",
    )

    def __init__(self) -> None:
        self.width = 0.0
        self.since = math.inf
        self.base = 0
        self.counts = [0] * FINE_BUCKETS
        self.members = [0] * _MEMBER_CELLS
        self.hosts: dict[str, float] = {}
        self.clock = -math.inf
        self.due: dict[str, float] = {}
        self.due_behavior: dict[str, float] = {}
        self.next_due = math.inf
        self.folds: dict[FoldKey, Fold] = {}
        self.folds_due = -math.inf  # a lower bound of when one of them closes (not stored)

    def set_due(self, user: str, rule_due: float, behavior_due: float) -> None:
        """Index ``user``'s earliest close times (``inf``: no open alert of that kind)."""
        if rule_due == math.inf:
            self.due.pop(user, None)
        else:
            self.due[user] = rule_due
            if rule_due < self.next_due:
                self.next_due = rule_due
        if behavior_due == math.inf:
            self.due_behavior.pop(user, None)
        else:
            self.due_behavior[user] = behavior_due

    def due_users(self, clock: float) -> list[str]:
        """Members with a rule alert due to close by ``clock``, in name order."""
        if clock <= self.next_due:
            return []
        due = self.due
        users = sorted(user for user, at in due.items() if at < clock)
        self.next_due = min((at for at in due.values() if at >= clock), default=math.inf)
        return users

    def due_behavior_users(self, clock: float) -> list[str]:
        """Members with a behaviour alert due to close by ``clock``, in name order."""
        return sorted(user for user, at in self.due_behavior.items() if at < clock)

    @property
    def indexed(self) -> int:
        """Members the close index holds."""
        return len(self.due.keys() | self.due_behavior.keys())

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
        clock = self.clock if self.clock != -math.inf else None
        due: list[Any] = []
        for user in sorted(self.due):  # sorted: the index's order is no part of the state
            due += (user, self.due[user])
        due_behavior: list[Any] = []
        for user in sorted(self.due_behavior):
            due_behavior += (user, self.due_behavior[user])
        return orjson.dumps(
            [STATE_VERSION, self.width, since, self.base, self.counts, members, hosts, clock,
             due, due_behavior, _fold_rows(self.folds)]
        )  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        try:
            row = orjson.loads(data)
            if not isinstance(row, list) or not row or row[0] not in (1, STATE_VERSION):
                version = row[0] if isinstance(row, list) and row else None
                raise StateFormatError(f"unsupported agency state version {version!r}")
            _, width, since, base, counts, members, hosts = row[:7]
            clock, due, due_behavior = row[7:10] if row[0] == STATE_VERSION else (None, [], [])
            folds = row[10] if len(row) > 10 else []
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
            state.clock = -math.inf if clock is None else float(clock)
            state.due = {str(due[i]): float(due[i + 1]) for i in range(0, len(due) - 1, 2)}
            state.due_behavior = {
                str(due_behavior[i]): float(due_behavior[i + 1])
                for i in range(0, len(due_behavior) - 1, 2)
            }
            state.next_due = min(state.due.values(), default=math.inf)
            state.folds = _folds(folds, AGENCY_FOLD_CAP)
        except StateFormatError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise StateFormatError(f"unreadable agency state: {exc}") from None
        return state

"""Training rows: each user's events replayed through :class:`BehaviorWindow` in time order.

The stream computes a row per event with the same class, so a row here is
exactly what the worker would have scored for that event. Events are read
with the contract parser (:func:`streams.contract.event.event_from_dict`),
the same validation the worker applies: whatever the worker would reject
never trains the model either.

>>> import hashlib
>>> from streams.contract import SearchEvent
>>> def ev(i, user):
...     return SearchEvent(event_id=f"{user}-{i}", ts=1_772_409_600.0 + i * 5_400,
...                        ts_text="", agency="MPD", user=user, endpoint="frt.example.gov",
...                        host="frt.example.gov", on_behalf_of="MPD", case_number="C1",
...                        probe_sha256=hashlib.sha256(b"%d" % i).hexdigest(), result_count=2)
>>> events = [ev(i, u) for i in range(12) for u in ("a", "b")] + [ev(3, "a")]  # one duplicate
>>> rows = replay_features(events)
>>> rows.X.shape, rows.event_count, rows.users, rows.duplicates
((6, 11), 24, ['MPD/a', 'MPD/b'], 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from models.features import FEATURE_NAMES, UTC_HOURS, BehaviorWindow, LocalHours
from streams.contract import SearchEvent
from streams.contract.event import event_from_dict
from streams.errors import ContractError, ModelError


@dataclass(frozen=True, slots=True)
class FeatureRows:
    """Feature rows of many users, with who and when each row belongs to.

    ``user_index[i]`` indexes ``users``; ``ts[i]`` is the event time of row i.
    ``event_count`` counts distinct events replayed (rows start only after each
    user's warm-up, so there are fewer rows than events).
    """

    X: np.ndarray
    user_index: np.ndarray
    ts: np.ndarray
    users: list[str]
    event_count: int
    duplicates: int
    first_ts: float | None
    last_ts: float | None


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Validated events from one source, and how many inputs were rejected."""

    events: list[SearchEvent]
    rejected: int
    source: str


def read_events_file(path: str | Path) -> EventBatch:
    """Read a ``frt.search.v1`` JSONL file; invalid lines are counted, not fatal."""
    file = Path(path)
    if not file.is_file():
        raise ModelError(f"no events file at {file}")
    events: list[SearchEvent] = []
    rejected = 0
    with file.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                events.append(event_from_dict(orjson.loads(line)))
            except (orjson.JSONDecodeError, ContractError):
                rejected += 1
    return EventBatch(events=events, rejected=rejected, source=f"file:{file}")


def replay_features(events: Iterable[SearchEvent], hours: LocalHours = UTC_HOURS) -> FeatureRows:
    """Replay events per user in (ts, event_id) order and collect every row the stream would score.

    ``hours``: the agencies' time zones, as the worker reads them from the policy
    (``Policy.local_hours()``).
    """
    ordered = sorted(events, key=lambda e: (e.ts, e.event_id))
    windows: dict[str, BehaviorWindow] = {}
    seen: dict[str, set[str]] = {}
    user_ids: dict[str, int] = {}
    rows: list[list[float]] = []
    owners: list[int] = []
    times: list[float] = []
    duplicates = 0
    for event in ordered:
        key = event.user_key
        ids = seen.setdefault(key, set())
        if event.event_id in ids:
            duplicates += 1
            continue
        ids.add(event.event_id)
        window = windows.get(key)
        if window is None:
            window = windows[key] = BehaviorWindow()
            user_ids[key] = len(user_ids)
        window.update(event, hours)
        row = window.features()
        if row is not None:
            rows.append(row)
            owners.append(user_ids[key])
            times.append(event.ts)
    event_count = len(ordered) - duplicates
    return FeatureRows(
        X=np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES)),
        user_index=np.asarray(owners, dtype=np.int64),
        ts=np.asarray(times, dtype=np.float64),
        users=list(user_ids),
        event_count=event_count,
        duplicates=duplicates,
        first_ts=ordered[0].ts if ordered else None,
        last_ts=ordered[-1].ts if ordered else None,
    )


def user_max(scores: np.ndarray, user_index: np.ndarray, n_users: int) -> np.ndarray:
    """Each user's highest row score (``-inf`` for users with no rows).

    A user is alerted on when any of their rows crosses the threshold, so the
    user-level score is the maximum.

    >>> user_max(np.array([0.1, 0.5, 0.3]), np.array([0, 0, 2]), 3).tolist()
    [0.5, -inf, 0.3]
    """
    out = np.full(n_users, -np.inf)
    np.maximum.at(out, user_index, scores)
    return out

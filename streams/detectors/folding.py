"""Alert folding: one alert per (user, detector, subject, suppression period).

Each piece of evidence belongs to the fixed event-time period that holds its
own ``ts`` (``floor(ts / suppression) * suppression``), so the alert an event
feeds, and therefore the ``alert_id``, depends only on the event itself: the
same events give the same ids in any order, live, replayed or after a crash.

An alert is emitted when it opens and again each time its evidence count
reaches a power of two (2, 4, 8, ...): a few messages per alert, never one per
event. Every emission carries the same ``alert_id``; consumers keep the one
with the largest ``event_count``.

>>> folds = {}
>>> key = ("burst", "", period_start(7300.0, 3600.0))
>>> [add_evidence(folds, key, 7300.0 + i, f"e{i}")[1] for i in range(1, 9)]
[True, True, False, True, False, False, False, True]
>>> folds[key].count, key[2]
(8, 7200)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from streams.contract.alert import Alert, make_alert_id
from streams.detectors.state import BEHAVIOR_FOLD_CAP, FOLD_CAP, FOLD_EVIDENCE_CAP, Fold, FoldKey

BEHAVIOR = "behavior_anomaly"


def period_start(ts: float, suppression_s: float) -> int:
    """Start (epoch seconds) of the suppression period holding ``ts``."""
    return int(math.floor(ts / suppression_s) * suppression_s)


def add_evidence(
    folds: dict[FoldKey, Fold],
    key: FoldKey,
    ts: float,
    event_id: str,
    prior: Sequence[tuple[float, str]] = (),
) -> tuple[Fold, bool]:
    """Fold one event into the alert ``key``; return the fold and whether to emit it now.

    ``prior`` is earlier evidence that only counts when the alert opens (a
    burst's leading searches).
    """
    fold = folds.get(key)
    if fold is None:
        ids = [event_id for _, event_id in prior]
        ids.append(event_id)
        first = min(ts, *(t for t, _ in prior)) if prior else ts
        fold = Fold(len(ids), first, ts, ids[:FOLD_EVIDENCE_CAP])
        # Rule and behaviour alerts are capped apart: see BEHAVIOR_FOLD_CAP.
        behaviour = key[0] == BEHAVIOR
        family = [k for k in folds if (k[0] == BEHAVIOR) == behaviour]
        if len(family) >= (BEHAVIOR_FOLD_CAP if behaviour else FOLD_CAP):
            del folds[min(family, key=lambda k: (folds[k].last_ts, k))]
        folds[key] = fold
        return fold, True
    count = fold.count + 1
    fold.count = count
    if ts < fold.first_ts:
        fold.first_ts = ts
    elif ts > fold.last_ts:
        fold.last_ts = ts
    if len(fold.event_ids) < FOLD_EVIDENCE_CAP:
        fold.event_ids.append(event_id)
    return fold, count & (count - 1) == 0


def expire_folds(
    folds: dict[FoldKey, Fold],
    newest: float,
    horizon_s: float,
    keep: str | None = None,
    only: str | None = None,
) -> None:
    """Close alerts whose period ended more than the allowed lateness before ``newest``
    (those of detector ``keep`` stay open; with ``only``, only that detector's close)."""
    for key in [
        k
        for k in folds
        if k[2] + horizon_s <= newest and k[0] != keep and (only is None or k[0] == only)
    ]:
        del folds[key]


def build_alert(
    key: FoldKey,
    fold: Fold,
    *,
    severity: str,
    agency: str,
    user: str,
    summary: str,
    details: dict[str, Any],
) -> Alert:
    """The ``frt.alert.v1`` alert for an open fold, as it stands now."""
    detector, subject, start = key
    return Alert(
        alert_id=make_alert_id(detector, agency, user, subject, start),
        detector=detector,
        severity=severity,
        agency=agency,
        user=user,
        first_seen=fold.first_ts,
        last_seen=fold.last_ts,
        event_count=fold.count,
        event_ids=list(fold.event_ids),
        summary=summary,
        details=details,
    )

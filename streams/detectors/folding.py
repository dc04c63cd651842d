"""Alert folding: one alert per (user, detector, subject) for as long as the behaviour lasts.

An alert is an event-time *session*. It opens with its first evidence and stays open
while more evidence comes, each piece within the detector's *session gap* (policy
``detectors.session_gap``, 24 h by default; ``detectors.<name>.session_gap``) of the
alert's latest evidence. It closes when its agency's event-time clock (the newest event
time judged for the agency) is past ``last_seen + gap``: it is then published once more,
with its final count and ``status: "closed"``, and never again. Evidence after that
opens a new alert.

Identity. The alert id hashes the detector, agency, user, subject and the opening
evidence (its event time and id). The judge sees each agency's events in event-time
order, so which event opens a session, and when it closes, is a function of the events
(docs/ARCHITECTURE.md, "What decides an alert").

Evidence behind the watermark (older than the agency's clock) joins the open alert of
its key when it is no further than the gap before the alert's first evidence; it then
moves ``first_seen`` back but not the id. Evidence that reaches no open alert (it is
older than ``clock - gap``: it falls where a session would already have closed, before
an open one or inside a closed one) goes to the key's *late* alert (:data:`LATE`), which
all such evidence joins however old, and which closes a gap after its last evidence
*arrived* (by the clock then). A closed alert is never reopened.

Versions published while open: when the alert opens, when its count reaches a power of
two (2, 4, 8, ...), and when evidence arrives on a later UTC day than the
``last_seen`` of the last version published. An alert of ``n`` searches over ``d``
days is therefore published at most ``log2(n) + d + 2`` times, the close included.
Consumers keep, per id, the version with the largest count, closed over open
(:func:`streams.contract.alert.supersedes`).

>>> folds = {}
>>> key = ("burst", "")
>>> _, fold, _, _ = add_evidence(folds, key, 7300.0, "e0", since_clock=7300.0, gap_s=3600.0)
>>> [add_evidence(folds, key, 7300.0 + i, f"e{i}", since_clock=7300.0 + i, gap_s=3600.0)[2]
...  for i in range(1, 8)]
[True, False, True, False, False, False, True]
>>> folds[key].count, folds[key].opened_by
(8, 'e0')
>>> is_due(folds[key], 3600.0, 7307.0 + 3600.0), is_due(folds[key], 3600.0, 7307.5 + 3600.0)
(False, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.contract.alert import CLOSED, OPEN, Alert, make_alert_id
from streams.detectors.phrasing import members, restate_count
from streams.detectors.state import BEHAVIOR_FOLD_CAP, FOLD_CAP, FOLD_EVIDENCE_CAP, Fold, FoldKey

BEHAVIOR = "behavior_anomaly"
AGENCY_WIDE = "*"
"""The user an agency-wide alert's id hashes in place of a member (a detector's alerts are
either all per user or all per agency, so the ids of the two kinds never meet)."""
DAY_S = 86400


SILENCED = "\x00"
"""Separates a silenced alert's subject from its exception's id in its fold key."""


def silenced_subject(subject: str, exception_id: str) -> str:
    """The fold-key subject of the alert an exception silences: apart from the
    subject's ordinary alert, one per exception.

    >>> key_parts(silenced_subject("app.clearview.ai", "exc-1"))
    ('app.clearview.ai', 'exc-1', False)
    >>> key_parts(silenced_subject("app.clearview.ai", "exc-1") + LATE)
    ('app.clearview.ai', 'exc-1', True)
    >>> key_parts("app.clearview.ai")
    ('app.clearview.ai', None, False)
    """
    return f"{subject}{SILENCED}{exception_id}"


def key_parts(key_subject: str) -> tuple[str, str | None, bool]:
    """A fold key's subject, the exception silencing it (if any) and whether it is the
    key's late alert (:data:`LATE`)."""
    late = key_subject.endswith(LATE)
    if late:
        key_subject = key_subject[: -len(LATE)]
    subject, sep, exception_id = key_subject.partition(SILENCED)
    return subject, (exception_id if sep else None), late


def utc_day(ts: float) -> int:
    """The UTC day number of an event time (days since 1970-01-01)."""
    return int(ts // DAY_S)


LATE = "\x01late"
"""Ends the fold-key subject of a key's *late* alert: the evidence that came too far
behind the agency's clock to join or open an ordinary one."""


def close_time(fold: Fold, gap_s: float) -> float:
    """When an agency clock past it closes ``fold``: its latest evidence plus the gap, or
    for a late alert, the clock when evidence last joined it plus the gap."""
    return max(fold.last_ts, fold.arrived) + gap_s


def reaches(fold: Fold, ts: float, gap_s: float) -> bool:
    """Whether evidence at ``ts`` belongs to the open alert ``fold``."""
    return fold.first_ts - gap_s <= ts <= fold.last_ts + gap_s


def is_due(fold: Fold, gap_s: float, clock: float) -> bool:
    """Whether an agency clock at ``clock`` closes ``fold`` (quiet for longer than the gap)."""
    return clock > close_time(fold, gap_s)


def add_evidence(
    folds: dict[FoldKey, Fold],
    key: FoldKey,
    ts: float,
    event_id: str,
    *,
    since_clock: float,
    gap_s: float,
    prior: Sequence[tuple[float, str]] = (),
    cap: int | None = None,
    opening_count: int = 0,
) -> tuple[FoldKey, Fold, bool, tuple[FoldKey, Fold] | None]:
    """Fold one piece of evidence into the user's open alert ``key``.

    Returns the key and fold it went into (the key's *late* alert, :data:`LATE`, for
    evidence behind the clock that no ordinary alert reaches), whether to publish it now,
    and the alert closed to make room (the user's least recent of the family, when the
    cap is reached), if any.
    ``prior`` is earlier evidence that only counts when an alert opens (a burst's
    leading searches); ``opening_count`` is what an alert that opens counts, when more
    than its evidence (a burst's whole window). Due folds must be closed before (see
    :func:`is_due`). ``cap``
    replaces the per-family caps with one for all of ``folds`` (an agency's alerts).
    """
    fold = folds.get(key)
    if fold is not None and reaches(fold, ts, gap_s):
        count = _join(fold, ts, event_id)
        return key, fold, _doubled(count) or utc_day(fold.last_ts) > fold.day, None
    late = ts + gap_s < since_clock or fold is not None
    if late:
        # Behind the clock, out of reach of an ordinary alert: the key's late alert, open
        # while late evidence keeps coming (by the clock), however old it is.
        key = (key[0], key[1] + LATE)
        fold = folds.get(key)
        if fold is not None:
            fold.arrived = since_clock
            return key, fold, _doubled(_join(fold, ts, event_id)), None
    evidence = sorted([*prior, (ts, event_id)])
    first_ts, opened_by = evidence[0]
    fold = Fold(
        max(len(evidence), opening_count), first_ts, ts,
        [i for _, i in evidence][:FOLD_EVIDENCE_CAP],
        first_ts, opened_by,
    )  # fmt: skip
    fold.day = utc_day(ts)  # published now
    if late:
        fold.arrived = since_clock
    if cap is not None:
        family = list(folds)
    else:  # rule and behaviour alerts are capped apart: see BEHAVIOR_FOLD_CAP
        behaviour = key[0] == BEHAVIOR
        family = [k for k in folds if (k[0] == BEHAVIOR) == behaviour]
        cap = BEHAVIOR_FOLD_CAP if behaviour else FOLD_CAP
    evicted = None
    if len(family) >= cap:
        oldest = min(family, key=lambda k: (folds[k].last_ts, k))
        evicted = (oldest, folds.pop(oldest))
    folds[key] = fold
    return key, fold, True, evicted


def _join(fold: Fold, ts: float, event_id: str) -> int:
    """Add one piece of evidence to an open alert; its new count."""
    fold.count += 1
    if ts < fold.first_ts:
        fold.first_ts = ts
    elif ts > fold.last_ts:
        fold.last_ts = ts
    if len(fold.event_ids) < FOLD_EVIDENCE_CAP:
        fold.event_ids.append(event_id)
    return fold.count


def _doubled(count: int) -> bool:
    """Whether ``count`` is a power of two (a version is published at 1, 2, 4, 8, ...)."""
    return count & (count - 1) == 0


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
    """The open ``frt.alert.v1`` version of ``fold`` as it stands now; the fold remembers
    it (when it was published, and its wording for the closing version)."""
    fold.day = utc_day(fold.last_ts)
    fold.emitted = fold.count
    fold.summary = summary
    if key[1].endswith(LATE):
        details = {**details, "late_evidence": True}
    fold.details = details = _with_members(fold, details)
    return _alert(key, fold, severity, agency, user, summary, details, OPEN)


def closing_alert(key: FoldKey, fold: Fold, *, severity: str, agency: str, user: str) -> Alert:
    """The final ``status: "closed"`` version of ``fold``: its last wording, final count."""
    summary = restate_count(fold.summary, fold.emitted, fold.count)
    said = fold.details.get("users")
    if fold.users is not None and isinstance(said, list):  # restate the members too
        before = members(agency, said, bool(fold.details.get("more_users")))
        summary = summary.replace(before, members(agency, list(fold.users), fold.more_users), 1)
    return _alert(key, fold, severity, agency, user, summary, _with_members(fold, fold.details),
                  CLOSED)  # fmt: skip


def _with_members(fold: Fold, details: dict[str, Any]) -> dict[str, Any]:
    """An agency-wide alert's details with its members as they are now."""
    if fold.users is None:
        return details
    return {**details, "alert_per": "agency", "users": list(fold.users),
            "user_counts": dict(fold.users), "more_users": fold.more_users}  # fmt: skip


def _alert(
    key: FoldKey,
    fold: Fold,
    severity: str,
    agency: str,
    user: str,
    summary: str,
    details: dict[str, Any],
    status: str,
) -> Alert:
    """The alert ``fold`` is as published; ``details`` are as they stand (members
    included: :func:`_with_members`)."""
    detector, key_subject = key
    exception_id = key_parts(key_subject)[1]
    identity = user
    if fold.users is not None:  # agency-wide: named for its opening member, about them all
        identity, user = AGENCY_WIDE, next(iter(fold.users))
    return Alert(
        alert_id=make_alert_id(
            detector, agency, identity, key_subject, fold.opened_ts, fold.opened_by
        ),
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
        status=status,
        exception_id=exception_id,
    )

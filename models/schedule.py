"""When the behaviour model is trained, on what, and from when a version applies.

The trainer (``frtwatch model trainer``, and the one ``frtwatch worker`` starts) asks
:func:`next_step` what to do, given what the events topic spans and the versions the
models topic already holds. Every time here is **event time**, so the schedule
follows the events, not the clock of the machine that runs it:

* **First model.** Once the events span ``min_history`` (policy
  ``detectors.behavior_anomaly.training``), train on them up to a *cutoff*: the
  latest UTC midnight the stream has passed by the allowed lateness (so the
  history before it is complete). Too few users with enough searches: wait for the
  next day's cutoff.
* **Retraining.** ``retrain_every`` after the last version's cutoff, train again on
  the ``history`` before the new cutoff. A trainer that was away trains once for the
  latest cutoff due, not once for each it missed.
* **Applies from.** A version applies from the newest event time the trainer has
  seen plus ``lead``: workers load it from the models topic before events it
  should score reach them, so the live run and a replay use it for the same events.
* **Shadow.** With ``shadow`` > 0, a version trained while another is in force
  first scores beside it (no alerts) for that long. Then it is compared with the
  version in force over the shadow period's events and promoted (``promote:
  auto``, within ``max_flagged_ratio`` and ``min_correlation``) or rejected;
  ``promote: manual`` leaves it to ``frtwatch model promote``.

>>> from streams.policy import TrainingSettings
>>> day = 86400.0
>>> rules = TrainingSettings(min_history_s=7 * day, retrain_every_s=7 * day, lead_s=3600.0)
>>> next_step(rules, first_ts=0.0, last_ts=5 * day, versions=[], lateness_s=600.0)
Wait(reason='7 days of history before the first model, up to a midnight (have 5.0)')
>>> step = next_step(rules, first_ts=0.0, last_ts=8.5 * day, versions=[], lateness_s=600.0)
>>> step.cutoff / day, step.history_from, step.role, step.applies_from / day > 8.5
(8.0, 0.0, 'active', True)
>>> done = [Published("v1", "active", 8.5 * day + 3600, 8.0 * day)]
>>> next_step(rules, first_ts=0.0, last_ts=14 * day, versions=done, lateness_s=600.0).reason
'next version at cutoff 1970-01-16T00:00:00Z (retrain_every after 1970-01-09T00:00:00Z)'
>>> next_step(rules, first_ts=0.0, last_ts=15.5 * day, versions=done, lateness_s=600.0).cutoff / day
15.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.versions import ACTIVE, REJECTED, SHADOW
from streams.contract.alert import format_ts

if TYPE_CHECKING:
    from streams.policy import TrainingSettings

DAY_S = 86400.0
__all__ = ["REJECTED", "Decide", "Published", "Train", "Wait", "judge_shadow", "next_step"]


@dataclass(frozen=True, slots=True)
class Published:
    """A version the models topic holds, as the schedule sees it."""

    version: str
    role: str
    applies_from: float
    cutoff: float | None
    """The end of its training history (None for a model published by hand)."""


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do yet, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Train:
    """Train on events ``[history_from, cutoff)`` and publish as ``role`` from ``applies_from``."""

    cutoff: float
    history_from: float
    applies_from: float
    role: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decide:
    """A shadow version's period is over: compare it with ``current`` over
    ``[since, until)`` and promote or reject it from ``applies_from``."""

    shadow: str
    current: str
    since: float
    until: float
    applies_from: float


Step = Wait | Train | Decide


def _midnight(ts: float) -> float:
    return math.floor(ts / DAY_S) * DAY_S


def next_step(
    rules: TrainingSettings,
    *,
    first_ts: float | None,
    last_ts: float | None,
    versions: Sequence[Published],
    lateness_s: float,
) -> Step:
    """What the trainer should do now (see the module doc)."""
    if first_ts is None or last_ts is None:
        return Wait("no events yet")
    settled = last_ts - lateness_s  # the history before this is complete
    applies_from = last_ts + rules.lead_s
    shadows = [v for v in versions if v.role == SHADOW]
    if shadows:
        shadow = max(shadows, key=lambda v: v.applies_from)
        until = shadow.applies_from + rules.shadow_s
        current = _in_force(versions, shadow.applies_from)
        if current is None:  # nothing to compare with: it may as well be promoted
            return Decide(shadow.version, "", shadow.applies_from, until, applies_from)
        if settled < until:
            return Wait(f"version {shadow.version} in its shadow period until {format_ts(until)}")
        if rules.promote != "auto":
            return Wait(f"version {shadow.version} awaits promotion by hand "
                        f"(frtwatch model promote {shadow.version})")  # fmt: skip
        return Decide(shadow.version, current.version, shadow.applies_from, until, applies_from)
    trained = [v for v in versions if v.cutoff is not None]
    if not trained and not any(v.role == ACTIVE for v in versions):
        have = (settled - first_ts) / DAY_S
        need = rules.min_history_s / DAY_S
        cutoff = _midnight(settled)
        if cutoff - first_ts < rules.min_history_s:
            return Wait(
                f"{need:g} days of history before the first model, up to a midnight "
                f"(have {max(have, 0.0):.1f})"
            )
        return Train(cutoff, first_ts, max(applies_from, cutoff), ACTIVE,
                     f"first model: {have:.1f} days of history")  # fmt: skip
    last = max((v.cutoff for v in trained if v.cutoff is not None), default=None)
    if last is None:  # only models published by hand: retrain from their start
        last = _midnight(max(v.applies_from for v in versions))
    due = last + rules.retrain_every_s
    if settled < due:
        return Wait(
            f"next version at cutoff {format_ts(due)} (retrain_every after {format_ts(last)})"
        )
    steps = math.floor((settled - due) / rules.retrain_every_s)
    cutoff = due + steps * rules.retrain_every_s
    role = SHADOW if rules.shadow_s > 0 else ACTIVE
    return Train(
        cutoff,
        max(first_ts, cutoff - rules.history_s),
        max(applies_from, cutoff),
        role,
        f"scheduled retraining: {rules.retrain_every_s / DAY_S:g} days after the last cutoff",
    )


def _in_force(versions: Sequence[Published], ts: float) -> Published | None:
    active = [v for v in versions if v.role == ACTIVE and v.applies_from <= ts]
    return max(active, key=lambda v: (v.applies_from, v.version), default=None)


@dataclass(frozen=True, slots=True)
class Verdict:
    promote: bool
    reason: str


def judge_shadow(
    rules: TrainingSettings,
    *,
    current_flagged: int,
    candidate_flagged: int,
    spearman: float,
) -> Verdict:
    """Whether a shadow version may replace the one in force (``promote: auto``).

    >>> from streams.policy import TrainingSettings
    >>> judge_shadow(TrainingSettings(), current_flagged=3, candidate_flagged=5, spearman=0.9)
    Verdict(promote=True, reason='within limits: flags 5 users (in force: 3), Spearman 0.900')
    >>> judge_shadow(TrainingSettings(), current_flagged=1, candidate_flagged=9, spearman=0.9).reason
    'flags 9 users, over 2 x (1 + 1) = 4 of the version in force'
    """
    bar = rules.max_flagged_ratio * (current_flagged + 1)
    if candidate_flagged > bar:
        return Verdict(False, f"flags {candidate_flagged} users, over "
                              f"{rules.max_flagged_ratio:g} x ({current_flagged} + 1) = {bar:g} "
                              "of the version in force")  # fmt: skip
    if not spearman >= rules.min_correlation:  # NaN fails too
        return Verdict(False, f"scores correlate {spearman:.3f} (Spearman) with the version in "
                              f"force, under {rules.min_correlation:g}")  # fmt: skip
    return Verdict(True, f"within limits: flags {candidate_flagged} users (in force: "
                         f"{current_flagged}), Spearman {spearman:.3f}")  # fmt: skip

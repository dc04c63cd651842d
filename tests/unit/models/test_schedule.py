"""The trainer's schedule, by event time: the first model, retraining, shadow decisions."""

from __future__ import annotations

from models.schedule import Decide, Published, Train, Wait, judge_shadow, next_step
from models.versions import ACTIVE, REJECTED, SHADOW
from streams.policy import TrainingSettings

DAY = 86_400.0
RULES = TrainingSettings(min_history_s=7 * DAY, retrain_every_s=7 * DAY, history_s=14 * DAY,
                         lead_s=3600.0)  # fmt: skip


def step(rules: TrainingSettings = RULES, *, last: float, versions=(), first: float = 0.0):
    return next_step(rules, first_ts=first, last_ts=last, versions=list(versions),
                     lateness_s=600.0)  # fmt: skip


def test_nothing_before_there_are_events() -> None:
    assert isinstance(next_step(RULES, first_ts=None, last_ts=None, versions=[],
                                lateness_s=0.0), Wait)  # fmt: skip


def test_the_first_model_waits_for_min_history_up_to_a_midnight() -> None:
    assert isinstance(step(last=7 * DAY), Wait)  # 7 days less the lateness
    first = step(last=7 * DAY + 700)
    assert isinstance(first, Train)
    assert (first.cutoff, first.history_from, first.role) == (7 * DAY, 0.0, ACTIVE)
    assert first.applies_from == 7 * DAY + 700 + 3600  # newest event seen + lead


def test_retraining_follows_the_last_cutoff_on_a_sliding_history() -> None:
    done = [Published("v1", ACTIVE, 7.1 * DAY, 7 * DAY)]
    assert isinstance(step(last=13.9 * DAY, versions=done), Wait)
    again = step(last=21.5 * DAY, versions=done)
    assert isinstance(again, Train)
    assert again.cutoff == 21 * DAY  # the latest cutoff due, not each one missed
    assert again.history_from == 7 * DAY  # history_s before the cutoff
    assert again.role == ACTIVE


def test_with_a_shadow_period_a_new_version_shadows_first_then_is_decided() -> None:
    rules = TrainingSettings(min_history_s=7 * DAY, retrain_every_s=7 * DAY, shadow_s=2 * DAY)
    done = [Published("v1", ACTIVE, 7.1 * DAY, 7 * DAY)]
    trained = step(rules, last=14.2 * DAY, versions=done)
    assert isinstance(trained, Train) and trained.role == SHADOW
    shadowing = [*done, Published("v2", SHADOW, 14.25 * DAY, 14 * DAY)]
    assert isinstance(step(rules, last=15 * DAY, versions=shadowing), Wait)
    decide = step(rules, last=16.5 * DAY, versions=shadowing)
    assert isinstance(decide, Decide)
    assert (decide.shadow, decide.current) == ("v2", "v1")
    assert (decide.since, decide.until) == (14.25 * DAY, 16.25 * DAY)
    # Rejected: the next version comes at the next cutoff after it.
    rejected = [*done, Published("v2", REJECTED, 14.25 * DAY, 14 * DAY)]
    assert isinstance(step(rules, last=16.5 * DAY, versions=rejected), Wait)


def test_manual_promotion_waits_for_a_person() -> None:
    rules = TrainingSettings(shadow_s=DAY, promote="manual")
    shadowing = [Published("v1", ACTIVE, 7 * DAY, 7 * DAY),
                 Published("v2", SHADOW, 14 * DAY, 14 * DAY)]  # fmt: skip
    waiting = step(rules, last=20 * DAY, versions=shadowing)
    assert isinstance(waiting, Wait) and "frtwatch model promote v2" in waiting.reason


def test_shadow_limits() -> None:
    rules = TrainingSettings(max_flagged_ratio=2.0, min_correlation=0.5)
    assert judge_shadow(rules, current_flagged=4, candidate_flagged=10, spearman=0.8).promote
    assert not judge_shadow(rules, current_flagged=4, candidate_flagged=11, spearman=0.8).promote
    assert not judge_shadow(rules, current_flagged=4, candidate_flagged=4, spearman=0.2).promote
    assert not judge_shadow(rules, current_flagged=4, candidate_flagged=4,
                            spearman=float("nan")).promote  # fmt: skip

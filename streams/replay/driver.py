"""The replay driver: the live worker's detection core, with its tables as plain dicts.

The worker keeps a :class:`~streams.detectors.UserState` per
``"<agency>/<user>"`` and an :class:`~streams.detectors.AgencyState` per
agency in Faust tables; here they are two dicts holding the same objects
(never serialised, since nothing needs to survive the process). Events go
through the same :class:`~streams.detectors.Engine`; alerts are kept as the
latest message per ``alert_id``; behaviour-model requests are collected and
scored in large batches (one ``model.score`` call per ``score_batch`` rows),
then folded back with :meth:`Engine.apply_score` into the user's state as it
stands at that moment, as the worker does with its micro-batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.scoring import BehaviorModel
from streams.contract import SearchEvent
from streams.detectors import AgencyState, Engine, ScoreRequest, UserState
from streams.replay.alert_store import AlertStore
from streams.replay.scores import ScoreSample
from streams.report.tally import SearchTally

SCORE_BATCH = 10_000
"""Rows per model call: per-call overhead is milliseconds, per-row cost microseconds."""


class ReplayDriver:
    """Feeds ordered events through an :class:`Engine` and keeps what they produced."""

    def __init__(
        self,
        engine: Engine,
        *,
        model: BehaviorModel | None = None,
        threshold: float | None = None,
        tally: SearchTally | None = None,
        score_batch: int = SCORE_BATCH,
    ) -> None:
        self.engine = engine
        self.model = model
        self.threshold = (
            threshold if threshold is not None else (model.threshold if model else None)
        )
        self.tally = tally
        self.score_batch = max(1, score_batch)
        self.users: dict[str, UserState] = {}
        self.agencies: dict[str, AgencyState] = {}
        self.alerts = AlertStore()
        self.scores = ScoreSample()
        self.processed = 0
        self.duplicates = 0
        self.late = 0
        self.scored = 0
        self.alert_messages = 0
        self.warmed = 0
        self._pending: list[ScoreRequest] = []
        self._touched: set[str] = set()
        """Users processed since the scores were last applied (to settle their folds)."""

    def warm(self, events: Sequence[SearchEvent]) -> None:
        """Build state from events before the range: no alerts, no tally, no model scores.

        A live worker judging the range's first events already knows the
        users' recent past (burst baselines, behaviour windows, dedupe rings);
        warming the states with that past makes the replay judge alike.
        """
        process = self.engine.process
        users = self.users
        agencies = self.agencies
        for event in events:
            key = f"{event.agency}/{event.user}"
            out = process(users.get(key), agencies.get(event.agency), event)
            if not out.duplicate:
                users[key] = out.user_state
                agencies[event.agency] = out.agency_state
                self.warmed += 1

    def process(self, events: Sequence[SearchEvent]) -> None:
        """Judge events in the given order (the caller decides the order)."""
        process = self.engine.process
        users = self.users
        agencies = self.agencies
        put = self.alerts.put
        count = self.tally.add if self.tally is not None else None
        pending = self._pending
        scoring = self.model is not None
        touched = self._touched
        for event in events:
            key = f"{event.agency}/{event.user}"
            out = process(users.get(key), agencies.get(event.agency), event)
            if out.duplicate:
                self.duplicates += 1
                continue
            users[key] = out.user_state
            if scoring:  # behaviour folds exist only with a model
                touched.add(key)
            agencies[event.agency] = out.agency_state
            self.processed += 1
            if out.late:
                self.late += 1
            if count is not None:
                count(event)
            if out.alerts:
                self.alert_messages += len(out.alerts)
                for alert in out.alerts:
                    put(alert)
            if scoring and out.score_request is not None:
                pending.append(out.score_request)
                if len(pending) >= self.score_batch:
                    self.flush_scores()

    def flush_scores(self) -> None:
        """Score every pending request in one model call and fold the results in."""
        pending = self._pending
        if not pending or self.model is None or self.threshold is None:
            pending.clear()
            self.settle()
            return
        model = self.model
        threshold = self.threshold
        matrix = np.array([r.features for r in pending], dtype=np.float64)
        scores = model.score(matrix)
        self.scores.extend(scores)
        self.scored += len(pending)
        apply = self.engine.apply_score
        users = self.users
        put = self.alerts.put
        for request, value in zip(pending, scores.tolist(), strict=True):
            if value < threshold:
                continue  # apply_score would change nothing
            key = f"{request.agency}/{request.user}"
            reasons = model.explain(request.features)
            state, alerts = apply(users[key], request, value, threshold, reasons)
            users[key] = state
            self.alert_messages += len(alerts)
            for alert in alerts:
                put(alert)
        self.settle()
        pending.clear()

    def settle(self) -> None:
        """Close the folds past the horizon of every user touched since the last call
        (behaviour folds included, which ``Engine.process`` leaves open)."""
        users = self.users
        for key in self._touched:
            self.engine.settle_folds(users[key])
        self._touched.clear()

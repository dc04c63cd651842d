"""The replay driver: the live worker's judge, with its states as plain objects.

The worker keeps a :class:`~streams.detectors.UserState` per
``"<agency>/<user>"`` and an :class:`~streams.detectors.AgencyState` per
agency in Faust tables; here they are objects in an
:class:`~streams.judge.batch.ObjectStates` (never serialised, since nothing
needs to survive the process). Events go through the same
:class:`~streams.judge.batch.Judge` as in the worker, in batches of
``score_batch`` events (one ``model.score`` call each: per-call overhead is
milliseconds, per-row cost microseconds); the judge's alerts are kept as the
latest message per ``alert_id``. Batch boundaries do not change the alerts
(:mod:`streams.judge.batch`), so the batch size is a matter of speed only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from models.scoring import BehaviorModel
from models.versions import ModelTimeline
from streams.contract import SearchEvent
from streams.detectors import Engine
from streams.judge.batch import BatchItem, BatchResult, Judge, ObjectStates
from streams.replay.alert_store import AlertStore
from streams.replay.scores import ScoreSample
from streams.report.tally import SearchTally

log = logging.getLogger(__name__)

SCORE_BATCH = 10_000
"""Events per judge call (and so at most rows per model call)."""


class ReplayDriver:
    """Feeds ordered events through a :class:`Judge` and keeps what they produced."""

    def __init__(
        self,
        engine: Engine,
        *,
        model: BehaviorModel | ModelTimeline | None = None,
        threshold: float | None = None,
        tally: SearchTally | None = None,
        score_batch: int = SCORE_BATCH,
    ) -> None:
        self.engine = engine
        self.model = model
        self.judge = Judge(engine, model, threshold)
        self.threshold = self.judge.threshold
        self.tally = tally
        self.score_batch = max(1, score_batch)
        self.states = ObjectStates()
        self.alerts = AlertStore()
        self.scores = ScoreSample()
        self.processed = 0
        self.duplicates = 0
        self.late = 0
        self.excepted = 0
        self.scored = 0
        self.failed = 0
        self.alert_messages = 0
        self.warmed = 0

    def warm(self, events: Sequence[SearchEvent]) -> None:
        """Build state from events before the range: no alerts, no tally, no model scores.

        A live worker judging the range's first events already knows the
        users' recent past (burst baselines, behaviour windows, dedupe rings);
        warming the states with that past makes the replay judge alike.
        """
        for begin in range(0, len(events), self.score_batch):
            part = events[begin : begin + self.score_batch]
            result = self.judge.run(self._items(part), self.states, warm=True)
            self.warmed += len(result.accepted)
            self._count_failures(result)

    def process(self, events: Sequence[SearchEvent]) -> None:
        """Judge events in the given order (the caller decides the order)."""
        for begin in range(0, len(events), self.score_batch):
            part = events[begin : begin + self.score_batch]
            self._take(self.judge.run(self._items(part), self.states))

    @staticmethod
    def _items(events: Sequence[SearchEvent]) -> list[BatchItem[None]]:
        return [BatchItem(event, None) for event in events]

    def _take(self, result: BatchResult[None]) -> None:
        self.processed += len(result.accepted)
        self.duplicates += result.duplicates
        self.late += result.late
        self.excepted += result.excepted
        self.scored += result.scored
        if result.scores:
            self.scores.extend(result.scores)
        if self.tally is not None:
            count = self.tally.add
            for event in result.accepted:
                count(event)
        self.alert_messages += len(result.alerts)
        put = self.alerts.put
        for alert in result.alerts:
            put(alert)
        self._count_failures(result)

    def close(self) -> None:
        """Release what the driver holds (nothing here; see :mod:`streams.replay.parallel`)."""

    def _count_failures(self, result: BatchResult[None]) -> None:
        if result.failures:
            self.failed += len(result.failures)
            log.error("%d event(s) could not be judged (see the log above)", len(result.failures))

"""The worker's metrics and health, wired to the running app.

``frtwatch worker`` with ``FRTWATCH_METRICS_PORT`` set serves ``/metrics``, ``/livez`` and
``/readyz`` (:mod:`streams.health`). What feeds them:

- the ingest stage counts events in, dead letters by reason class, each input
  partition's lag and the event-time watermark (``streams/worker/ingest/stage.py``);
- :func:`count_alerts` counts each published alert message by detector and severity,
  ``kind="new"`` the first time this worker process publishes an alert id and
  ``"update"`` after (a bounded memory of recent ids: a restarted worker counts its
  first message of an older alert as new);
- :func:`timed` times every scored micro-batch of each behaviour-model version;
- :func:`publish_behavior` sets ``frtwatch_model_state`` and the ``behavior`` of
  ``/status`` from a :class:`~streams.worker.runtime.BehaviorStatus` (``warmup`` while
  no version is known), again each time the models topic changes the versions
  (:func:`behavior_status`);
- :func:`count_shadows` counts the rows shadow versions scored and would have flagged;
- :func:`install` beats the liveness clock on the event loop every second and publishes
  the size of the worker's tables every few seconds; readiness follows the worker's
  "ready" line and is withdrawn while partitions are revoked;
- garbage-collector pauses are counted by :mod:`streams.worker.gc_pauses`.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from models.versions import ACTIVE, SHADOW, ModelTimeline
from streams.contract import Alert
from streams.health import Health
from streams.metrics import (
    count_shadow,
    model_scoring_timer,
    record_alert,
    set_model_state,
    set_state_entries,
)
from streams.worker.runtime import BehaviorStatus, WorkerRuntime

if TYPE_CHECKING:
    from models.scoring import BehaviorModel
from streams.worker.tables import WorkerTables

HEALTH = Health()
"""The worker process's health, served by :func:`streams.health.serve`."""

BEAT_S = 1.0
STATE_EVERY_S = 5.0
SEEN_ALERTS = 100_000

_seen: OrderedDict[str, None] = OrderedDict()


def count_alerts(alerts: Iterable[Alert]) -> None:
    """Count published alert messages (see the module doc for ``kind``)."""
    for alert in alerts:
        update = alert.alert_id in _seen
        if update:
            _seen.move_to_end(alert.alert_id)
        else:
            _seen[alert.alert_id] = None
            if len(_seen) > SEEN_ALERTS:
                _seen.popitem(last=False)
        record_alert(alert.detector, alert.severity, update=update)


def publish_behavior(status: BehaviorStatus) -> None:
    """Show the behaviour detector's state in the metrics and on ``/status``."""
    set_model_state(status.state)
    HEALTH.status["behavior"] = status.to_dict()


def timed(model: BehaviorModel) -> BehaviorModel:
    """``model`` with every ``score`` call timed (``frtwatch_model_scoring_seconds``)."""
    base = type(model)

    class TimedModel(base):  # type: ignore[valid-type,misc]
        def score(self, X: np.ndarray) -> np.ndarray:
            with model_scoring_timer(len(X)):
                return super().score(X)

    copy = object.__new__(TimedModel)
    copy.__dict__.update(model.__dict__)
    return cast("BehaviorModel", copy)


def timed_model(runtime: WorkerRuntime) -> WorkerRuntime:
    """``runtime`` with its model file's version timed (the models topic's are timed as
    they load: :mod:`streams.worker.model_feed`)."""
    model = runtime.model
    if model is None:
        return runtime
    copy = timed(model)
    return dataclasses.replace(runtime, model=copy, models=ModelTimeline.single(copy))


def behavior_status(timeline: ModelTimeline, topic: str) -> BehaviorStatus:
    """The behaviour detector's state for the versions known."""
    active = [v for v in timeline.versions if v.role == ACTIVE]
    shadows = [v for v in timeline.versions if v.role == SHADOW]
    if not active:
        return BehaviorStatus(
            "warmup",
            "none yet: behaviour detection warming up, no behaviour alerts, until the "
            f"trainer publishes a version to {topic} (or a model file is given)",
        )
    latest = active[-1]
    start = latest.describe()["applies_from"] or "the start"
    detail = (f"version {latest.version} (threshold {latest.model.threshold:.4f}) from "
              f"{start}; {len(active)} active version(s)")  # fmt: skip
    if shadows:
        detail += f", {len(shadows)} in shadow ({', '.join(v.version for v in shadows)})"
    return BehaviorStatus("scoring", detail)


def count_shadows(result: Any) -> None:
    """Count what shadow versions scored in a judged batch (no alerts come of it)."""
    for version, tally in result.shadow.items():
        count_shadow(version, tally.rows, tally.flagged)


def install_beat(app: Any) -> None:
    """Beat the liveness clock on ``app``'s event loop every second."""

    async def beat() -> None:
        HEALTH.beat()

    app.timer(BEAT_S, name="frtwatch.health_beat")(beat)


def install(app: Any, tables: WorkerTables) -> None:
    """Register the liveness beat, the table sizes and readiness on ``app``."""

    install_beat(app)

    async def state_sizes() -> None:
        for name, table in (("users", tables.users), ("agencies", tables.agencies)):
            set_state_entries(name, len(table))

    async def not_ready(sender: Any, *args: Any, **kwargs: Any) -> None:
        HEALTH.ready = False

    app.timer(STATE_EVERY_S, name="frtwatch.state_sizes")(state_sizes)
    # mode types receivers with mypy_extensions.NamedArg, which no plain def matches.
    app.on_partitions_revoked.connect(not_ready)


def now_ready() -> None:
    """The worker announced it serves."""
    HEALTH.beat()
    HEALTH.ready = True

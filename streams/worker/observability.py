"""The worker's metrics and health, wired to the running app.

``frtwatch worker`` with ``FRTWATCH_METRICS_PORT`` set serves ``/metrics``, ``/livez`` and
``/readyz`` (:mod:`streams.health`). What feeds them:

- the ingest stage counts events in, dead letters by reason class, each input
  partition's lag and the event-time watermark (``streams/worker/ingest/stage.py``);
- :func:`count_alerts` counts each published alert message by detector and severity,
  ``kind="new"`` the first time this worker process publishes an alert id and
  ``"update"`` after (a bounded memory of recent ids: a restarted worker counts its
  first message of an older alert as new);
- :func:`timed_model` times every scored micro-batch of the behaviour model;
- :func:`publish_behavior` sets ``frtwatch_model_state`` and the ``behavior`` of
  ``/status`` from the runtime's :class:`~streams.worker.runtime.BehaviorStatus`
  (``warmup`` while there is no model);
- :func:`install` beats the liveness clock on the event loop every second and publishes
  the size of the worker's tables every few seconds; readiness follows the worker's
  "ready" line and is withdrawn while partitions are revoked;
- garbage-collector pauses are counted by :mod:`streams.worker.gc_pauses`.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np

from streams.contract import Alert
from streams.health import Health
from streams.metrics import model_scoring_timer, record_alert, set_model_state, set_state_entries
from streams.worker.runtime import BehaviorStatus, WorkerRuntime
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


def timed_model(runtime: WorkerRuntime) -> WorkerRuntime:
    """``runtime`` with a behaviour model whose every ``score`` call is timed."""
    model = runtime.model
    if model is None:
        return runtime
    base = type(model)

    class TimedModel(base):  # type: ignore[valid-type,misc]
        def score(self, X: np.ndarray) -> np.ndarray:
            with model_scoring_timer(len(X)):
                return super().score(X)

    timed = object.__new__(TimedModel)
    timed.__dict__.update(model.__dict__)
    return dataclasses.replace(runtime, model=timed)


def install(app: Any, tables: WorkerTables) -> None:
    """Register the liveness beat, the table sizes and readiness on ``app``."""

    async def beat() -> None:
        HEALTH.beat()

    async def state_sizes() -> None:
        for name, table in (("users", tables.users), ("agencies", tables.agencies)):
            set_state_entries(name, len(table))

    async def not_ready(sender: Any, *args: Any, **kwargs: Any) -> None:
        HEALTH.ready = False

    app.timer(BEAT_S, name="frtwatch.health_beat")(beat)
    app.timer(STATE_EVERY_S, name="frtwatch.state_sizes")(state_sizes)
    # mode types receivers with mypy_extensions.NamedArg, which no plain def matches.
    app.on_partitions_revoked.connect(not_ready)


def now_ready() -> None:
    """The worker announced it serves."""
    HEALTH.beat()
    HEALTH.ready = True

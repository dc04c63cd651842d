"""The worker's behaviour-model versions: a model file, and the models topic on top.

Every worker reads the whole compacted models topic (``frt.models``,
:mod:`models.version_record`) like the certificates topic
(:class:`~streams.worker.certificates_feed.CompactedFeed`): from the beginning,
**before its first event is judged**, and caught up before each batch. Each
record that passes every check of :func:`models.version_record.decode` (a skops
archive whose sha256 equals its card's, allow-listed types only, this version's
features and the policy's time zones) joins the judge's
:class:`~models.versions.ModelTimeline`; a record that fails is refused with its
reason in the log and ``frtwatch_model_versions_refused_total``, and the versions
already known stay in force. A tombstone withdraws a version.

A version scores the events from its own ``applies_from`` on, whenever the worker
learnt of it. One that arrives after the worker has judged events it applies to
(the trainer's ``lead`` was too short for how far behind it ran) is logged and
counted in ``frtwatch_model_versions_late_total``: those events were scored by the
version before it, and a replay would score them with the new one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from models.version_record import decode
from models.versions import ACTIVE, ModelTimeline
from streams.contract.alert import format_ts
from streams.errors import ModelError
from streams.metrics import count_model_version

if TYPE_CHECKING:
    from models.features import LocalHours
    from models.scoring import BehaviorModel

log = logging.getLogger("frtwatch.worker")


class ModelRecords:
    """Applies models-topic records to ``timeline`` (the ``TopicRecords`` of a feed)."""

    def __init__(
        self,
        timeline: ModelTimeline,
        hours: LocalHours,
        *,
        on_change: Callable[[ModelTimeline], None] = lambda timeline: None,
        wrap: Callable[[BehaviorModel], BehaviorModel] = lambda model: model,
        judged_until: Callable[[], float] = lambda: -math.inf,
    ) -> None:
        self.timeline = timeline
        self.hours = hours
        self.on_change = on_change
        self.wrap = wrap
        self.judged_until = judged_until
        self.applied = 0
        self.rejected = 0

    def apply(self, key: bytes | None, value: bytes | None) -> bool:
        if key is None:
            self._refuse("?", "the record has no key")
            return False
        name = key.decode("utf-8", "replace")
        if value is None:
            if self.timeline.remove(name):
                log.warning("models topic: version %s withdrawn", name)
                self.applied += 1
                self.on_change(self.timeline)
            return True
        try:
            version = decode(key, value, self.hours)
        except ModelError as exc:
            self._refuse(name, str(exc))
            return False
        version = replace(version, model=self.wrap(version.model))
        seen = self.judged_until()
        if version.role == ACTIVE and version.applies_from <= seen:
            count_model_version("late")
            log.warning(
                "models topic: version %s applies from %s, but events up to %s were judged "
                "before it arrived; they kept the version before it (a replay scores them "
                "with %s): give the trainer a longer training.lead",
                name, format_ts(version.applies_from), format_ts(seen), name,
            )  # fmt: skip
        self.timeline.put(version)
        self.applied += 1
        count_model_version("loaded")
        log.warning("models topic: version %s (%s) applies from %s, threshold %.4f", name,
                    version.role, format_ts(version.applies_from), version.model.threshold)  # fmt: skip
        self.on_change(self.timeline)
        return True

    def apply_all(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        for key, value in records:
            self.apply(key, value)

    def _refuse(self, name: str, reason: str) -> None:
        self.rejected += 1
        count_model_version("refused")
        log.error("models topic: version %s refused, the versions in force stay: %s", name,
                  reason)  # fmt: skip

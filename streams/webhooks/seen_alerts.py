"""Which alert ids the dispatcher has already seen: the first message versus updates.

A message whose ``alert_id`` appeared before is an update of that alert (or its
close, which its ``status`` says). Routes with ``updates: open`` get only the
first message, and OCSF marks the first as *Create* and later open ones as
*Update* (:func:`streams.webhooks.routes.phase_of`).
The set is bounded (least recently seen ids fall out first); the
dispatcher refills it after a restart by re-reading the part of each
partition it had already committed, within a look-back period.

>>> seen = SeenAlerts(capacity=2)
>>> seen.observe("a"), seen.observe("a"), seen.observe("b"), seen.observe("c")
(True, False, True, True)
>>> "a" in seen
False
"""

from __future__ import annotations

from collections import OrderedDict


class SeenAlerts:
    """A bounded, least-recently-seen-first-out set of alert ids."""

    def __init__(self, capacity: int = 200_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def observe(self, alert_id: str) -> bool:
        """Record ``alert_id``; True when it had not been seen (the alert's first message)."""
        if alert_id in self._ids:
            self._ids.move_to_end(alert_id)
            return False
        self._ids[alert_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

"""Start a table recovery again when a changelog partition stops reaching it.

faust-streaming 0.15.3 recovers a worker's tables by reading their changelog
partitions through the worker's consumer until each reaches the end it
measured when the recovery began; until then the worker judges nothing. In
two CI runs of the takeover fault test (never in the runs here), a survivor
that took over the partitions of a killed worker never received one record of
two of its changelog partitions: Faust's recovery logged "No event received
for active tp … since recovery start" for a minute and a half while the
consumer kept fetching, and the worker never became ready. The cause was not
found. Recoveries that never end are reported upstream too, with other causes
found for some (faust-streaming issue #74, stream buffers full during
recovery; robinhood/faust issue #218).

The repair uses Faust's own restart. When an active changelog partition with
records left has received none for ``stall_s`` seconds, the worker sets the
recovery's ``signal_recovery_start``, as a new rebalance does: the recovery
measures every end and offset again, seeks every active changelog partition
to where it has got to (which also resets the consumer's read offset, below
which Faust drops records) and reads on from there. What it had applied is
kept; at most the records after the last one applied are read again, which
sets the same values. The check runs on one of the worker's timers, which Faust
starts once the worker has started: it covers the recoveries of later rebalances
(a takeover is one), not the first.

>>> watch = RecoveryWatch(stall_s=30)
>>> left = {"users-1": 120, "users-2": 0}
>>> watch.stalled(now=100.0, started_at=80.0, remaining=left, received_at={})
[]
>>> watch.stalled(now=111.0, started_at=80.0, remaining=left, received_at={})
['users-1']
>>> watch.stalled(now=111.0, started_at=80.0, remaining=left, received_at={"users-1": 90.0})
[]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Mapping
from typing import Any, Generic, TypeVar

from streams.worker.workarounds import private

log = logging.getLogger("frtwatch.worker")

K = TypeVar("K", bound=Hashable)

RECOVERY_STALL_S = 30.0
"""How long an active changelog partition with records left may go without one."""


class RecoveryWatch(Generic[K]):
    """Which partitions of a running recovery have stopped receiving records."""

    def __init__(self, stall_s: float = RECOVERY_STALL_S) -> None:
        self.stall_s = stall_s

    def stalled(
        self,
        now: float,
        started_at: float,
        remaining: Mapping[K, int],
        received_at: Mapping[K, float],
    ) -> list[K]:
        """The partitions with records left and none received for ``stall_s`` (since
        ``started_at`` for those that never received one), in the order given."""
        return [
            tp
            for tp, left in remaining.items()
            if left > 0 and now - received_at.get(tp, started_at) >= self.stall_s
        ]


def restart_stalled_recovery(recovery: Any, watch: RecoveryWatch[Any]) -> list[Any]:
    """Restart ``recovery`` (Faust's ``app.tables.recovery``) if it has stalled; the
    partitions that had, for the caller's log (empty: nothing done)."""
    if not recovery.in_recovery or recovery.signal_recovery_start.is_set():
        return []
    started_at = private.recovery_started_at(recovery)
    if started_at is None:
        return []
    stalled = watch.stalled(
        time.monotonic(),
        started_at,
        recovery.active_remaining(),
        private.recovery_events_received_at(recovery),
    )
    if stalled:
        stats = recovery.active_stats()
        log.warning(
            "table recovery received nothing from %s for %.0fs; starting the recovery again",
            ", ".join(
                f"{tp.topic}:{tp.partition} (at {stats[tp].offset} of {stats[tp].highwater})"
                if tp in stats
                else f"{tp.topic}:{tp.partition}"
                for tp in stalled
            ),
            watch.stall_s,
        )
        recovery.signal_recovery_start.set()
    return stalled

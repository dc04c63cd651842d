"""A table recovery that stops receiving a changelog partition's records is started again."""

from __future__ import annotations

import time

import faust
from faust.types import TP

from streams.worker.workarounds.stalled_recovery import RecoveryWatch, restart_stalled_recovery

USERS_1 = TP("frtwatch-unit-recovery-user-state-changelog", 1)
USERS_3 = TP("frtwatch-unit-recovery-user-state-changelog", 3)


def _recovery(started_ago: float) -> object:
    """Faust's own recovery service, in the state of a recovery begun ``started_ago`` s ago
    with records left in two changelog partitions."""
    app = faust.App("frtwatch-unit-recovery", store="memory://")
    recovery = app.tables.recovery
    recovery._set_recovery_started()
    recovery._recovery_started_at = time.monotonic() - started_ago
    recovery.active_highwaters.update({USERS_1: 40, USERS_3: 12})
    recovery.active_offsets.update({USERS_1: 5, USERS_3: 12})
    return recovery


def test_a_partition_silent_since_the_start_restarts_the_recovery(caplog) -> None:
    recovery = _recovery(started_ago=31)
    assert restart_stalled_recovery(recovery, RecoveryWatch(stall_s=30)) == [USERS_1]
    assert recovery.signal_recovery_start.is_set()  # what a new rebalance sets
    assert "user-state-changelog:1 (at 5 of 40)" in caplog.text
    # Until the recovery has started again, nothing more is done.
    assert restart_stalled_recovery(recovery, RecoveryWatch(stall_s=30)) == []


def test_a_recovery_that_still_receives_records_is_left_alone() -> None:
    recovery = _recovery(started_ago=300)
    recovery._active_events_received_at[USERS_1] = time.monotonic() - 2
    assert restart_stalled_recovery(recovery, RecoveryWatch(stall_s=30)) == []
    assert not recovery.signal_recovery_start.is_set()


def test_nothing_is_done_before_the_stall_or_outside_a_recovery() -> None:
    young = _recovery(started_ago=10)
    assert restart_stalled_recovery(young, RecoveryWatch(stall_s=30)) == []
    done = _recovery(started_ago=300)
    done._set_recovery_ended()
    assert restart_stalled_recovery(done, RecoveryWatch(stall_s=30)) == []
    assert not young.signal_recovery_start.is_set() and not done.signal_recovery_start.is_set()

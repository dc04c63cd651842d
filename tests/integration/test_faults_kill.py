"""SIGKILLed three times at different points, the worker still loses and doubles nothing.

A simulated world (every detector on, a behaviour model trained on its
baseline) is fed in three parts under one app id, keyed by agency (see
:func:`~tests.integration.fault_injection.by_agency`), and the worker is
killed with SIGKILL (no shutdown, no final commit, no producer flush) three
times:

1. as soon as it has committed judged events of part 1 (its first commit);
2. right after a restart has rebuilt its tables from the changelogs and
   begun on the backlog of parts 1 and 2;
3. mid-stream, once it has committed more, while part 3 is still arriving
   in slices (it started on the backlog of part 2).

A fourth worker finishes the work. The test in
``test_worker_restart.py`` compares alerts with ``frtwatch replay`` after one
kill; this one repeats the crash at several points and also checks the
tables: the alert ids and evidence counts, and every user's and agency's
latest changelog record, must equal a recomputation of the same events,
each judged exactly once (:mod:`tests.integration.fault_injection`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from streams.settings import TopicNames
from tests.integration.conftest import WorkerFactory
from tests.integration.fault_injection import (
    QUICK_FAILOVER,
    assert_same,
    by_agency,
    judged,
    kill,
    scenario,
    wait_for_progress,
    worker_outcome,
)
from tests.integration.worker_harness import produce, wait_drained

SLICE = 40
SLICE_PAUSE_S = 0.15
"""Part 3 arrives 40 events at a time, 0.15 s apart: about 35 slices, 6 to 7 s."""


def test_three_sigkills_lose_and_double_nothing(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    create_topics: Callable[..., None],
    tmp_path: Path,
) -> None:
    start = scenario(tmp_path, seed=5)
    world, policy, expected = start.world, start.policy, start.expected
    total = len(world.lines)
    cut1, cut2 = int(total * 0.25), int(total * 0.8)
    parts = [world.lines[:cut1], world.lines[cut1:cut2], world.lines[cut2:]]

    def send(lines: list[bytes]) -> None:
        produce(kafka_bootstrap, topic_names.events, by_agency(lines))

    def send_slowly(lines: list[bytes], done: threading.Event) -> None:
        for start in range(0, len(lines), SLICE):
            send(lines[start : start + SLICE])
            time.sleep(SLICE_PAUSE_S)
        done.set()

    app_id = f"frtwatch-faults-kill-{uuid.uuid4().hex[:8]}"
    # Offsets are committed per take of BATCH_SIZE records (a record packs up to 100
    # events); takes of 1 record, each event judged, delivered and stored on its own,
    # give many commits and many points between an agency's write and its users'.
    env = {**QUICK_FAILOVER, "FRTWATCH_BATCH_SIZE": "1"}
    create_topics([topic_names.events], partitions=4)
    send(parts[0])
    first = worker_factory(policy, app_id=app_id, extra_env=env)
    kills = [wait_for_progress(kafka_bootstrap, app_id, 0, first)]
    kill(first)

    send(parts[1])
    second = worker_factory(
        policy, app_id=app_id, extra_env=env
    )  # returns once its tables are rebuilt
    kill(second)
    kills.append(judged(kafka_bootstrap, app_id))

    # The third worker starts on the backlog of part 2 while part 3 arrives in slices
    # (some seconds in all; the backlog takes about one), and is killed once it has
    # committed more: mid-stream, with input still arriving and events in flight.
    third = worker_factory(policy, app_id=app_id, extra_env=env)
    streamed = threading.Event()
    sender = threading.Thread(target=send_slowly, args=(parts[2], streamed), daemon=True)
    sender.start()
    kills.append(wait_for_progress(kafka_bootstrap, app_id, kills[-1], third))
    kill(third)
    print(f"\n{total} events; killed with {kills} judged and committed")
    assert not streamed.is_set(), "the third kill came after all of the input was sent"
    sender.join(60)
    assert streamed.is_set()

    last = worker_factory(policy, app_id=app_id, extra_env=env)
    wait_drained(last, kafka_bootstrap, total, timeout=120)
    got = worker_outcome(kafka_bootstrap, app_id, topic_names.alerts)
    print(f"alerts {len(got.alerts)} (recomputed {len(expected.alerts)}), users {len(got.users)}, "
          f"agencies {len(got.agencies)}")  # fmt: skip
    assert_same(got, expected)
    assert last.stop() == 0
    assert len(expected.users) > 100
    assert len(expected.detectors) == 7, f"not every detector fired: {expected.detectors}"

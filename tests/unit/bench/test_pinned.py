"""The pinned phase moves a process's every thread to one core and back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from streams.bench.pinned import broker_pinned


def test_every_thread_is_pinned_and_then_restored() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import threading, time\n"
                              "[threading.Thread(target=time.sleep, args=(30,)).start() "
                              "for _ in range(3)]\ntime.sleep(30)"])  # fmt: skip
    try:
        before = os.sched_getaffinity(child.pid)
        core = max(before)

        deadline = time.monotonic() + 10
        while len(os.listdir(f"/proc/{child.pid}/task")) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        tids = [int(t) for t in os.listdir(f"/proc/{child.pid}/task")]
        assert len(tids) >= 4
        with broker_pinned(child.pid, core):
            assert {frozenset(os.sched_getaffinity(t)) for t in tids} == {frozenset({core})}
        assert all(os.sched_getaffinity(t) == before for t in tids)
    finally:
        child.kill()
        child.wait()

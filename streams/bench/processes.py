"""Consumers under test run as their own processes: start, wait for readiness, measure, stop.

A separate process is what production runs, and it keeps the benchmark's
own work (polling lag, producing) off the measured interpreter. Memory is
read from ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``): no extra package.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from streams.settings import TopicNames

WORKER_READY = "frtwatch worker ready:"
FRTWATCH = Path(sys.executable).with_name("frtwatch")


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (peak resident) of ``pid``, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(rest.split()[0])
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time ``pid`` has used so far (``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuShares:
    """CPU used by a few processes over a stretch of wall time, as cores' worth.

    >>> shares = CpuShares({"me": os.getpid(), "gone": 2**22 + 1})  # beyond any pid
    >>> sorted(shares.read())
    ['me']
    """

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self.began = time.monotonic()
        self.start: dict[str, float] = {}
        for label, pid in self.pids.items():
            try:
                self.start[label] = cpu_seconds(pid)
            except OSError:  # no such process
                continue

    def read(self) -> dict[str, float]:
        """Cores used by each process since this object was made (1.0 = one core busy)."""
        wall = max(time.monotonic() - self.began, 1e-9)
        out = {}
        for label, start in self.start.items():
            try:
                out[label] = round((cpu_seconds(self.pids[label]) - start) / wall, 3)
            except OSError:  # the process is gone
                continue
        return out


@dataclass
class Consumer:
    """One consumer process and its log."""

    proc: subprocess.Popen[bytes]
    log: Path
    started: float

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, line: str, timeout_s: float = 120.0, count: int = 1) -> float:
        """Seconds since start until ``line`` has been printed ``count`` times."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.output().count(line) >= count:
                return time.monotonic() - self.started
            if not self.alive():
                raise RuntimeError(f"{self.log.name}: exited early:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.log.name}: no {line!r} in {timeout_s:.0f}s")

    def rss_mib(self) -> float:
        return memory_kib(self.pid)["VmRSS"] / 1024

    def peak_mib(self) -> float:
        return memory_kib(self.pid)["VmHWM"] / 1024

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM; SIGKILL if it does not exit in time."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start(command: Sequence[str], log: Path, env: Mapping[str, str]) -> Consumer:
    handle = log.open("ab")
    try:
        proc = subprocess.Popen(
            list(command), env=dict(env), stdout=handle, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        handle.close()
    return Consumer(proc, log, time.monotonic())


def worker_env(
    bootstrap: str,
    topics: TopicNames,
    app_id: str,
    data_dir: Path,
    policy: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of one ``frtwatch worker`` on the benchmark's own topics."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    env.update(
        FRTWATCH_BOOTSTRAP=bootstrap,
        FRTWATCH_APP_ID=app_id,
        FRTWATCH_DATA_DIR=str(data_dir),
        FRTWATCH_POLICY=str(policy),
        FRTWATCH_TOPIC_EVENTS=topics.events,
        FRTWATCH_TOPIC_DLQ=topics.dlq,
        FRTWATCH_TOPIC_CERTIFICATIONS=topics.certifications,
        FRTWATCH_TOPIC_ALERTS=topics.alerts,
        FRTWATCH_TOPIC_WEBHOOK_DLQ=topics.webhook_dlq,
        FRTWATCH_TOPIC_TRIAGE=topics.triage,
        FRTWATCH_TOPIC_EXCEPTIONS=topics.exceptions,
        FRTWATCH_TOPIC_MODELS=topics.models,
        FRTWATCH_TRAINER="off",  # measured and tested apart: tests/integration/test_model_lifecycle.py
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def start_worker(env: Mapping[str, str], log: Path, stage: str = "both") -> Consumer:
    """``frtwatch worker`` (``stage``: both stages, or ``ingest`` or ``detect`` alone)."""
    return start([str(FRTWATCH), "worker", "--stage", stage], log, env)


def start_empty_agent(
    bootstrap: str, topic: str, app_id: str, data_dir: Path, log: Path
) -> Consumer:
    command = [sys.executable, "-m", "streams.bench.empty_agent", "--bootstrap", bootstrap,
               "--topic", topic, "--app-id", app_id, "--data-dir", str(data_dir)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    env["PYTHONUNBUFFERED"] = "1"
    return start(command, log, env)

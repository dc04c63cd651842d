"""Run ``frtwatch console`` as a real subprocess on a test's own topics, and feed it.

The console is started exactly as an operator would start it (the CLI, a users
file, ``FRTWATCH_*`` variables), so a restart in a test is a real restart:
a new process that must rebuild everything from Kafka.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.console.passwords import hash_password
from streams.settings import TopicNames
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "console"
PASSWORD = "browser-test-pass"
# user name: (name, role, agencies)
USERS = {
    "analyst": ("Ana Lyst", "analyst", '"*"'),
    "lead": ("Lee Dawson", "lead", '"*"'),
    "mpd-analyst": ("Mo Park", "analyst", "[MPD]"),
    "auditor": ("Audrey Tor", "auditor", '"*"'),
}


def write_users_file(path: Path) -> Path:
    """Accounts for the tests (cheap scrypt cost: these hashes only live in tmp)."""
    digest = hash_password(PASSWORD, n=2**12)
    lines = ["users:"]
    for username, (name, role, agencies) in USERS.items():
        lines += [
            f"  {username}:", f"    name: {name}", f"    role: {role}",
            f"    agencies: {agencies}", f"    password_hash: {digest}",
        ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_alert(**overrides: Any) -> dict[str, Any]:
    """An ``frt.alert.v1`` alert a minute old, with a fresh id unless given."""
    now = time.time()
    alert: dict[str, Any] = {
        "schema": "frt.alert.v1",
        "alert_id": uuid.uuid4().hex,
        "detector": "prohibited_endpoint",
        "severity": "critical",
        "agency": "MPD",
        "user": "officer1",
        "first_seen": iso(now - 120),
        "last_seen": iso(now - 60),
        "event_count": 1,
        "event_ids": ["ev-1"],
        "summary": "officer1 searched a prohibited commercial FRT service",
        "details": {"endpoint": "https://app.clearview.ai/search", "host": "app.clearview.ai"},
    }
    alert.update(overrides)
    return alert


def make_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "ts": iso(time.time() - 90),
        "agency": "MPD",
        "user": "officer1",
        "endpoint": "https://frt.county.example.gov/search",
        "case_number": "C-1",
        "purpose": "investigation",
        "result_count": 3,
        "source": "audit-log",
    }
    event.update(overrides)
    return event


@dataclass
class ConsoleProcess:
    """One console process; ``restart()`` replaces it with a fresh one on the same port."""

    bootstrap: str
    topics: TopicNames
    users_file: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = dict(os.environ)
        env.update(
            FRTWATCH_BOOTSTRAP=self.bootstrap,
            FRTWATCH_TOPIC_ALERTS=self.topics.alerts,
            FRTWATCH_TOPIC_EVENTS=self.topics.events,
            FRTWATCH_TOPIC_TRIAGE=self.topics.triage,
            FRTWATCH_TOPIC_CERTIFICATIONS=self.topics.certifications,
            FRTWATCH_TOPIC_EXCEPTIONS=self.topics.exceptions,
            PYTHONUNBUFFERED="1",
        )
        log = self.log_path.open("ab")
        command = [sys.executable, "-m", "streams.cli", "console", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--users", str(self.users_file)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.wait_ready(timeout)

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return dict(json.loads(response.read()))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"console exited early:\n{self.log_path.read_text()[-3000:]}")
            health = self.health()
            if health and health.get("ready"):
                return
            time.sleep(0.2)
        raise AssertionError(
            f"console not ready in {timeout}s:\n{self.log_path.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

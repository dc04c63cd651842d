"""``make demo-sources``: from a proxy log and a DNS log to alerts in the console.

1. start the worker (with ``config/policy-sources.example.yaml``) and the SOC console on
   fresh topics of their own;
2. ``frtwatch ingest squid`` a Squid access.log and ``frtwatch ingest zeek-dns`` a Zeek
   dns.log, attributed through a lease table;
3. wait until the worker has caught up and print the alerts (``frtwatch alerts summary``).

In the sample logs mpd-0001 uses PimEyes through the proxy and tpd-0001's workstation
resolves FindClone; everyone else uses only the approved county system. Each step runs
the ``frtwatch`` command a person would type, and prints it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from streams.demo import _run, _start, _wait_for_line, out
from streams.errors import FrtwatchError
from streams.kafka_client import kafka_python_kwargs
from streams.settings import PROJECT_ROOT, TopicNames

FRTWATCH = Path(sys.executable).with_name("frtwatch")
APP_ID = "frtwatch-demo-sources"
TOPICS = TopicNames(
    events="demo-sources.frt.search-events",
    dlq="demo-sources.frt.search-events.dlq",
    certifications="demo-sources.frt.certifications",
    alerts="demo-sources.frt.alerts",
    webhook_dlq="demo-sources.frt.alerts.webhook-dlq",
    triage="demo-sources.frt.triage",
)
SAMPLES = PROJECT_ROOT / "tests" / "files" / "sources" / "scenario"
POLICY = PROJECT_ROOT / "config" / "policy-sources.example.yaml"


def _env(base: Path, bootstrap: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    env.update(
        FRTWATCH_BOOTSTRAP=bootstrap,
        FRTWATCH_APP_ID=APP_ID,
        FRTWATCH_POLICY=str(POLICY),
        FRTWATCH_TOPIC_EVENTS=TOPICS.events,
        FRTWATCH_TOPIC_DLQ=TOPICS.dlq,
        FRTWATCH_TOPIC_CERTIFICATIONS=TOPICS.certifications,
        FRTWATCH_TOPIC_ALERTS=TOPICS.alerts,
        FRTWATCH_TOPIC_WEBHOOK_DLQ=TOPICS.webhook_dlq,
        FRTWATCH_TOPIC_TRIAGE=TOPICS.triage,
        FRTWATCH_DATA_DIR=str(base / "state"),
    )
    return env


def _reset_topics(bootstrap: str) -> None:
    """Delete this demo's own topics (never any other), so every run starts clean."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **kafka_python_kwargs())
    try:
        ours = [t for t in admin.list_topics() if t.startswith(("demo-sources.", f"{APP_ID}-"))]
        if ours:
            admin.delete_topics(ours)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and set(ours) & set(admin.list_topics()):
                time.sleep(0.5)
    finally:
        admin.close()


def _lag(bootstrap: str) -> int:
    from streams.consumer_lag import LagWatch, worker_groups

    with LagWatch(
        bootstrap, worker_groups(APP_ID), [TOPICS.events, f"{APP_ID}-events-by-agency"]
    ) as watch:
        seen = watch.lag()
    return (1 << 30) if seen is None else seen[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.sources.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--dir", type=Path, default=Path(".demo-sources"), help="where it writes")
    parser.add_argument("--port", type=int, default=8080, help="console port (default 8080)")
    parser.add_argument("--hold", choices=("auto", "yes", "no"), default="auto",
                        help="keep the worker and console running at the end (auto: on a terminal)")  # fmt: skip
    args = parser.parse_args(argv)
    bootstrap = os.environ.get(
        "FRTWATCH_BOOTSTRAP", f"127.0.0.1:{os.environ.get('FRTWATCH_KAFKA_PORT', '9092')}"
    )
    base = args.dir.resolve()
    base.mkdir(parents=True, exist_ok=True)
    env = _env(base, bootstrap)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        out.rule("1. Worker and console on fresh topics")
        _reset_topics(bootstrap)
        worker_log = base / "worker.log"
        procs.append(_start(["worker"], env, worker_log))
        _wait_for_line(worker_log, "frtwatch worker ready:", procs[-1], timeout=120)
        password = secrets.token_urlsafe(12)
        hashed = subprocess.run([str(FRTWATCH), "console", "hash-password"], input=password.encode(),
                                capture_output=True, check=True, env=env).stdout.decode().strip()  # fmt: skip
        users = base / "console-users.yaml"
        users.write_text(
            f"users:\n  analyst:\n    name: Demo Analyst\n    password_hash: {hashed}\n"
        )
        procs.append(_start(["console", "--port", str(args.port), "--users", str(users)], env,
                            base / "console.log"))  # fmt: skip
        out.rule("2. A Squid access.log and a Zeek dns.log, attributed through a lease table")
        tables = ["--leases", str(SAMPLES / "leases.csv"), "--ranges", str(SAMPLES / "ranges.csv")]
        _run(["ingest", "squid", str(SAMPLES / "access.log"), *tables, "--no-progress"], env)
        _run(["ingest", "zeek-dns", str(SAMPLES / "dns.log"), *tables, "--no-progress"], env)
        out.rule("3. Wait for the worker, then the alerts")
        deadline = time.monotonic() + 120
        while _lag(bootstrap) > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1)
        _run(["alerts", "summary"], env)
        out.rule("SOC console")
        out.print(
            f"  http://127.0.0.1:{args.port}/   user: [bold]analyst[/]   password: [bold]{password}[/]"
        )
        if args.hold == "yes" or (args.hold == "auto" and sys.stdin.isatty()):
            out.print("  worker and console keep running; press Ctrl-C to stop them.")
            signal.pause()
        return 0
    except KeyboardInterrupt:
        return 0
    except FrtwatchError as exc:
        out.print(f"[red]error: {exc}[/]")
        return 1
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    raise SystemExit(main())

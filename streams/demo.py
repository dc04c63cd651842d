"""``make demo``: the whole pipeline, end to end, on the local broker.

1. generate a simulated world (agencies, users, incidents, decoys, ground truth);
2. train the behaviour model on the world's incident-free baseline history;
3. start the worker and the SOC console on fresh demo topics;
4. produce the world's events (null keys) and its certificates;
5. wait until the worker has caught up, then print what it found next to the truth.

Each step runs the same ``frtwatch`` command a person would type, and prints it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from streams.contract.alert import supersedes
from streams.errors import FrtwatchError
from streams.kafka_client import kafka_python_kwargs
from streams.settings import TopicNames
from streams.simulate.baseline import write_baseline

FRTWATCH = Path(sys.executable).with_name("frtwatch")
DEMO_APP_ID = "frtwatch-demo"
DEMO_TOPICS = TopicNames(
    events="demo.frt.search-events",
    dlq="demo.frt.search-events.dlq",
    certifications="demo.frt.certifications",
    alerts="demo.frt.alerts",
    webhook_dlq="demo.frt.alerts.webhook-dlq",
    triage="demo.frt.triage",
    exceptions="demo.frt.exceptions",
    models="demo.frt.models",
)
out = Console(highlight=False)


def _run(args: list[str], env: dict[str, str]) -> None:
    out.print(f"[bold cyan]$ frtwatch {' '.join(args)}[/]")
    proc = subprocess.run([str(FRTWATCH), *args], env=env, check=False)
    if proc.returncode != 0:
        raise FrtwatchError(f"'frtwatch {args[0]}' failed with status {proc.returncode}")


def _env(base: Path, bootstrap: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FRTWATCH_BOOTSTRAP=bootstrap,
        FRTWATCH_APP_ID=DEMO_APP_ID,
        FRTWATCH_TOPIC_EVENTS=DEMO_TOPICS.events,
        FRTWATCH_TOPIC_DLQ=DEMO_TOPICS.dlq,
        FRTWATCH_TOPIC_CERTIFICATIONS=DEMO_TOPICS.certifications,
        FRTWATCH_TOPIC_ALERTS=DEMO_TOPICS.alerts,
        FRTWATCH_TOPIC_WEBHOOK_DLQ=DEMO_TOPICS.webhook_dlq,
        FRTWATCH_TOPIC_TRIAGE=DEMO_TOPICS.triage,
        FRTWATCH_TOPIC_EXCEPTIONS=DEMO_TOPICS.exceptions,
        FRTWATCH_TOPIC_MODELS=DEMO_TOPICS.models,
        # The demo trains its model file up front from the world's first week; the
        # trainer, which would publish versions as a live stream's history grows, is off.
        FRTWATCH_TRAINER="off",
        FRTWATCH_DATA_DIR=str(base / "state"),
        FRTWATCH_MODEL=str(base / "model" / "behavior.skops"),
        FRTWATCH_CERTIFICATIONS=str(base / "world" / "certifications.csv"),
    )
    return env


def _reset_topics(bootstrap: str) -> None:
    """Delete the demo's own topics (never any other) so every demo starts clean."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **kafka_python_kwargs())
    try:
        ours = [
            t
            for t in admin.list_topics()
            if t.startswith("demo.frt.") or t.startswith(f"{DEMO_APP_ID}-")
        ]
        if ours:
            admin.delete_topics(ours)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and set(ours) & set(admin.list_topics()):
                time.sleep(0.5)
    finally:
        admin.close()


def _baseline(world: Path) -> Path:
    """The world's history before its first incident: what 'normal' looked like."""
    truth = orjson.loads((world / "truth.json").read_bytes())
    path = world / "baseline.jsonl"
    write_baseline(world / "events.jsonl", truth, path)
    return path


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out.print(f"[bold cyan]$ frtwatch {' '.join(args)} &[/]  [dim](log: {log})[/]")
    handle = log.open("wb")
    return subprocess.Popen(
        [str(FRTWATCH), *args], env=env, stdout=handle, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise FrtwatchError(f"process exited with {proc.returncode}; see {log}")
        time.sleep(0.3)
    raise FrtwatchError(f"not ready after {timeout:.0f}s; see {log}")


def _lag(bootstrap: str) -> int:
    """Messages the demo worker has not yet finished, over its input and internal topics."""
    from streams.worker.consumer_lag import LagWatch, worker_groups

    topics = [DEMO_TOPICS.events, f"{DEMO_APP_ID}-events-by-agency"]
    with LagWatch(bootstrap, worker_groups(DEMO_APP_ID), topics) as watch:
        seen = watch.lag()  # nothing committed yet counts as behind
    return (1 << 30) if seen is None else seen[0]


def _read_alerts(bootstrap: str) -> dict[str, dict[str, Any]]:
    """The latest message of every alert on the demo alert topic."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        DEMO_TOPICS.alerts, bootstrap_servers=bootstrap, **kafka_python_kwargs(), auto_offset_reset="earliest",
        enable_auto_commit=False, consumer_timeout_ms=3000,
    )  # fmt: skip
    latest: dict[str, dict[str, Any]] = {}
    try:
        for message in consumer:
            alert = orjson.loads(message.value)
            if supersedes(alert, latest.get(alert["alert_id"])):
                latest[alert["alert_id"]] = alert
    finally:
        consumer.close()
    return latest


def _report(alerts: dict[str, dict[str, Any]], world: Path) -> None:
    truth = orjson.loads((world / "truth.json").read_bytes())
    table = Table(title="Alerts by detector and severity", title_justify="left")
    table.add_column("detector")
    for severity in ("critical", "high", "medium", "low"):
        table.add_column(severity, justify="right")
    by = Counter((a["detector"], a["severity"]) for a in alerts.values())
    for detector in sorted({a["detector"] for a in alerts.values()}):
        table.add_row(
            detector, *(str(by[(detector, s)] or "") for s in ("critical", "high", "medium", "low"))
        )
    out.print(table)

    agencies = Table(title="Alerts by agency", title_justify="left")
    agencies.add_column("agency")
    agencies.add_column("alerts", justify="right")
    agencies.add_column("users", justify="right")
    for agency, count in Counter(a["agency"] for a in alerts.values()).most_common():
        people = len({a["user"] for a in alerts.values() if a["agency"] == agency})
        agencies.add_row(agency, str(count), str(people))
    out.print(agencies)

    found = Table(title="Injected incidents found (ground truth)", title_justify="left")
    for col in ("incident", "detector", "agency", "users", "found", "alerts"):
        found.add_column(col)
    hits = 0
    for inc in truth["incidents"]:
        users = set(inc["users"])
        mine = [
            a for a in alerts.values()
            if a["detector"] == inc["detector"] and a["agency"] == inc["agency"] and a["user"] in users
        ]  # fmt: skip
        hits += bool(mine)
        found.add_row(
            inc["id"], inc["detector"], inc["agency"], str(len(users)),
            "[green]yes[/]" if mine else "[red]no[/]", str(len(mine)),
        )  # fmt: skip
    out.print(found)
    decoy_users = {(d["agency"], u): d for d in truth["decoys"] for u in d["users"]}
    flagged = {
        d["id"] for a in alerts.values()
        if (d := decoy_users.get((a["agency"], a["user"]))) and a["detector"] in d["must_not_fire"]
    }  # fmt: skip
    incident_users = {(i["agency"], u) for i in truth["incidents"] for u in i["users"]}
    stray = {(a["agency"], a["user"]) for a in alerts.values()} - incident_users
    out.print(
        f"[bold]{hits}/{len(truth['incidents'])} incidents found; "
        f"{len(flagged)}/{len(truth['decoys'])} decoys flagged; "
        f"{len(stray)} of {len(truth['users']) - len(incident_users)} other users alerted on; "
        f"{len(alerts)} alerts in all.[/]"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "--dir", type=Path, default=Path(".demo"), help="where the demo writes (default .demo)"
    )
    parser.add_argument("--users", type=int, default=400, help="users in the simulated world")
    parser.add_argument("--days", type=int, default=14, help="days in the simulated world")
    parser.add_argument("--port", type=int, default=8080, help="console port (default 8080)")
    parser.add_argument("--hold", choices=("auto", "yes", "no"), default="auto",
                        help="keep the worker and console running at the end "
                             "(auto: only on a terminal)")  # fmt: skip
    args = parser.parse_args(argv)
    bootstrap = os.environ.get(
        "FRTWATCH_BOOTSTRAP", f"127.0.0.1:{os.environ.get('FRTWATCH_KAFKA_PORT', '9092')}"
    )
    base = args.dir.resolve()
    shutil.rmtree(base, ignore_errors=True)
    (base / "model").mkdir(parents=True)
    env = _env(base, bootstrap)
    procs: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        out.rule("1. A simulated world")
        _run(["simulate", "--out", str(base / "world"), "--users", str(args.users),
              "--days", str(args.days), "--no-progress"], env)  # fmt: skip
        out.rule("2. The behaviour model, trained on the incident-free baseline")
        baseline = _baseline(base / "world")
        _run(["model", "train", "--from-file", str(baseline), "--out", env["FRTWATCH_MODEL"]], env)
        out.rule("3. Worker and console on fresh demo topics")
        _reset_topics(bootstrap)
        worker_log = base / "worker.log"
        procs.append(_start(["worker"], env, worker_log))
        _wait_for_line(worker_log, "frtwatch worker ready:", procs[-1], timeout=120)
        password = secrets.token_urlsafe(12)
        users_file = base / "console-users.yaml"
        hashed = subprocess.run([str(FRTWATCH), "console", "hash-password"], input=password.encode(),
                                capture_output=True, check=True, env=env).stdout.decode().strip()  # fmt: skip
        users_file.write_text(
            f"users:\n  analyst:\n    name: Demo Analyst\n    role: lead\n"
            f"    agencies: '*'\n    password_hash: {hashed}\n"
        )
        console_log = base / "console.log"
        procs.append(
            _start(
                ["console", "--port", str(args.port), "--users", str(users_file)], env, console_log
            )
        )
        out.rule("4. Produce the events (null keys) and the certificates")
        _run(["produce", str(base / "world" / "events.jsonl"), "--key", "null",
              "--certifications", str(base / "world" / "certifications.csv"), "--no-progress"], env)  # fmt: skip
        out.rule("5. Wait for the worker to catch up")
        deadline = time.monotonic() + 900
        last_print = 0.0
        while (lag := _lag(bootstrap)) > 0 and time.monotonic() < deadline:
            if time.monotonic() - last_print >= 5:
                out.print(f"  worker lag: {lag:,} messages")
                last_print = time.monotonic()
            time.sleep(1)
        time.sleep(2)
        alerts = _read_alerts(bootstrap)
        _report(alerts, base / "world")
        out.print(f"demo took {time.monotonic() - started:.0f}s; files in {base}")
        out.rule("SOC console")
        out.print(
            f"  http://127.0.0.1:{args.port}/   user: [bold]analyst[/]   password: [bold]{password}[/]"
        )
        hold = args.hold == "yes" or (args.hold == "auto" and sys.stdin.isatty())
        if hold:
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
    sys.exit(main())

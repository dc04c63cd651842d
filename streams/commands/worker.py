"""``frtwatch worker``: run the detection worker (the same app as ``faust -A streams.app worker``)."""

from __future__ import annotations

import argparse
import atexit
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from streams.errors import UsageError
from streams.settings import Settings, load_settings
from streams.worker.runtime import WorkerRuntime, load_runtime

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "worker",
        help="consume search events, dead-letter bad input, detect misuse, publish alerts",
        description=(
            "Run the frtwatch worker: it reads the input topic, sends input that is not a "
            "valid frt.search.v1 event to the dead-letter topic, keeps per-user state in "
            "changelogged tables and publishes alerts. Every option defaults to its "
            "FRTWATCH_* environment variable (see README.md). Stop it with Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument("--policy", type=Path, help="policy file (FRTWATCH_POLICY)")
    parser.add_argument(
        "--bootstrap", help="Kafka bootstrap servers host:port[,...] (FRTWATCH_BOOTSTRAP)"
    )
    parser.add_argument("--app-id", help="Faust app id = consumer group (FRTWATCH_APP_ID)")
    parser.add_argument(
        "--certifications",
        type=Path,
        help="certificates CSV, instead of the policy's (FRTWATCH_CERTIFICATIONS)",
    )
    parser.add_argument("--model", type=Path, help="behaviour model artifact (FRTWATCH_MODEL)")
    parser.add_argument("--data-dir", type=Path, help="worker data directory (FRTWATCH_DATA_DIR)")
    parser.add_argument("--stage", choices=("both", "ingest", "detect"), default="both",
                        help="run both stages (default), or one: an ingest and a detect "
                             "process with the same app id are one worker on two cores")  # fmt: skip
    parser.add_argument("--trainer", choices=("auto", "on", "off"),
                        help="start the model trainer beside the worker (FRTWATCH_TRAINER; "
                             "auto: on unless the cluster uses SASL)")  # fmt: skip
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="warning",
                        help="log level (default: warning)")  # fmt: skip
    parser.set_defaults(func=_run)


def settings_from_args(args: argparse.Namespace, base: Settings | None = None) -> Settings:
    """Environment settings with the command-line flags applied on top."""
    settings = base or load_settings()
    changes: dict[str, object] = {}
    if args.policy is not None:
        if not args.policy.is_file():
            raise UsageError(f"--policy {args.policy}: no such file")
        changes["policy_path"] = args.policy
    if args.bootstrap:
        changes["bootstrap"] = args.bootstrap
    if args.app_id:
        changes["app_id"] = args.app_id
    if args.certifications is not None:
        changes["certifications_csv"] = args.certifications
    if args.model is not None:
        changes["model_path"] = args.model
    if args.data_dir is not None:
        changes["data_dir"] = args.data_dir
    if getattr(args, "trainer", None):
        changes["trainer_mode"] = args.trainer
    return settings.with_overrides(**changes) if changes else settings


def print_banner(runtime: WorkerRuntime, out: TextIO = sys.stdout) -> None:
    """What this worker will do, in a few aligned lines."""
    rows = runtime.describe()
    width = max(len(label) for label, _ in rows)
    print("frtwatch worker", file=out)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}", file=out)
    out.flush()


def start_trainer(settings: Settings) -> subprocess.Popen[bytes]:
    """``frtwatch model trainer`` in a process of its own, for this worker's settings; it
    stops when this process is gone."""
    env = dict(os.environ)
    env.update(
        FRTWATCH_POLICY=str(settings.policy_path),
        FRTWATCH_BOOTSTRAP=settings.bootstrap,
        FRTWATCH_APP_ID=settings.app_id,
        FRTWATCH_TRAINER_PARENT=str(os.getpid()),
    )
    return subprocess.Popen([sys.executable, "-m", "streams.cli", "model", "trainer"], env=env)


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    runtime = load_runtime(settings)
    print_banner(runtime)
    if args.stage != "both":
        print(f"  {'stage':<12}  {args.stage} only (run the other stage with the same app id)",
              flush=True)  # fmt: skip

    import faust

    from streams.worker import gc_pauses
    from streams.worker.app import create_app

    gc_pauses.install(starting=True)
    if settings.metrics_port:
        from streams.health import serve
        from streams.worker.observability import HEALTH

        ops = serve(settings.metrics_host, settings.metrics_port, HEALTH)
        print(f"  {'metrics':<12}  {ops.url}/metrics, /livez, /readyz", flush=True)
    if settings.trainer and runtime.policy.behavior_anomaly.enabled and args.stage != "ingest":
        trainer = start_trainer(runtime.settings)
        atexit.register(trainer.terminate)
        print(f"  {'trainer':<12}  process {trainer.pid} (frtwatch model trainer)", flush=True)
    app = create_app(runtime=runtime, stage=args.stage)
    worker = faust.Worker(app, loglevel=args.log_level.upper(), quiet=True)
    # Faust's progress spinner writes terminal escapes to stdout and, at the
    # default level, turns the root logger up to DEBUG to animate: not wanted.
    worker.spinner = None
    worker.execute_from_commandline()
    return 0  # pragma: no cover - execute_from_commandline exits

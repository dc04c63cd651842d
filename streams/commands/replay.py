"""``frtwatch replay`` (re-run the detectors over a time range) and ``frtwatch report``.

``replay`` reads a topic's event-time range from every partition without a
consumer group, runs the live worker's detection core over it, and writes
alerts, a self-contained HTML report and the compliance rollup. With another
``--policy`` or ``--model`` and ``--diff`` it is a backtest: which alerts a
change would add or remove. ``report`` rebuilds the report of an existing run
directory (optionally comparing it with another run).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from streams.errors import UsageError
from streams.settings import TopicNames, load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "replay",
        help="re-run the detectors over a historical time range (backtests, reports)",
        description=(
            "Replay the event-time range [--from, --to) of a topic (or a JSONL file) through "
            "the same detectors as the live worker, and write alerts, report.html and "
            "compliance.csv into --out. Reads every partition by seeking on message "
            "timestamps (offsets_for_times) with --slack either side, then keeps events whose "
            "own ts is in the range. Joins no consumer group and commits nothing. Ctrl-C stops "
            "after the current batch and writes partial output (run.json says so)."
        ),
    )
    parser.add_argument("--from", dest="start", metavar="T1",
                        help="range start, inclusive: YYYY-MM-DD (UTC) or RFC 3339 with offset "
                             "(default: the beginning of the topic)")  # fmt: skip
    parser.add_argument("--to", dest="end", metavar="T2",
                        help="range end, exclusive (default: the end of the topic when the "
                             "replay starts)")  # fmt: skip
    parser.add_argument("--topic", help="topic to read (default: FRTWATCH_TOPIC_EVENTS)")
    parser.add_argument("--from-file", type=Path, metavar="EVENTS.jsonl",
                        help="read frt.search.v1 events from a JSONL file instead of Kafka")  # fmt: skip
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: FRTWATCH_BOOTSTRAP)")
    parser.add_argument("--policy", type=Path, help="policy file (default: FRTWATCH_POLICY)")
    parser.add_argument("--certifications", type=Path, metavar="CSV",
                        help="certificate registry CSV (default: FRTWATCH_CERTIFICATIONS, else "
                             "the policy's)")  # fmt: skip
    certs = parser.add_mutually_exclusive_group()
    certs.add_argument("--certifications-topic", metavar="TOPIC",
                       help="apply this compacted topic's certificates on top of the CSV, as the "
                            "worker does (default for Kafka replays: FRTWATCH_TOPIC_"
                            "CERTIFICATIONS, else the policy's topic; skipped if absent)")  # fmt: skip
    certs.add_argument("--no-certifications-topic", action="store_true",
                       help="judge certificates against the CSV alone")  # fmt: skip
    excepted = parser.add_mutually_exclusive_group()
    excepted.add_argument("--exceptions", type=Path, metavar="FILE",
                          help="judge with this exceptions file's exceptions (and the policy's "
                               "exceptions.file's) instead of the exceptions topic's")  # fmt: skip
    excepted.add_argument("--exceptions-topic", metavar="TOPIC",
                          help="read the exceptions from this compacted topic, as the worker "
                               "does (default for Kafka replays: FRTWATCH_TOPIC_EXCEPTIONS; "
                               "skipped if absent)")  # fmt: skip
    excepted.add_argument("--no-exceptions-topic", action="store_true",
                          help="judge with the policy's exceptions file alone")  # fmt: skip
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", type=Path,
                       help="behaviour model artifact (default: FRTWATCH_MODEL, else the "
                            "policy's model if the file exists)")  # fmt: skip
    model.add_argument("--no-model", action="store_true", help="do not score behaviour")
    model.add_argument("--models-topic", metavar="TOPIC",
                       help="score each event with the version of this models topic in force "
                            "at its time, as the worker does (default for Kafka replays: "
                            "FRTWATCH_TOPIC_MODELS; with --model, that file alone scores)")  # fmt: skip
    parser.add_argument("--no-models-topic", action="store_true",
                        help="do not read the models topic: the model file alone scores")  # fmt: skip
    parser.add_argument("--threshold", type=float,
                        help="behaviour alert threshold (default: the model card's)")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    parser.add_argument("--publish", metavar="TOPIC",
                        help="also send the alerts to this topic (key = alert_id)")  # fmt: skip
    parser.add_argument("--diff", type=Path, metavar="OTHER_DIR",
                        help="compare the alerts with another run's: which appear, which "
                             "disappear (writes diff.json)")  # fmt: skip
    parser.add_argument("--slack", type=float, default=None, metavar="SECONDS",
                        help="how far message timestamps may differ from event times "
                             "(default 3600)")  # fmt: skip
    parser.add_argument("--seek", choices=("auto", "time", "scan"), default="auto",
                        help="how to find the range's offsets: time = offsets_for_times on "
                             "message timestamps; scan = read whole partitions; auto (default) = "
                             "time, except for partitions whose message timestamps do not follow "
                             "event times (loaded in bulk), which are scanned")  # fmt: skip
    parser.add_argument("--warmup", metavar="DURATION",
                        help="also read this much before --from (e.g. 14d) to build users' "
                             "baselines and behaviour windows, without reporting it, so the first "
                             "events of the range are judged as the live worker judged them")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="judge in N processes, each a share of the agencies (default 1; "
                             "the outputs are the same for every N)")  # fmt: skip
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_replay)

    report = sub.add_parser(
        "report",
        help="rebuild report.html and compliance.csv of a replay run directory",
        description=(
            "Rebuild the HTML report and compliance.csv from a replay's output directory "
            "(run.json, alerts, searches.parquet, scores.parquet); with --diff, compare its "
            "alerts with another run's."
        ),
    )
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    report.add_argument("--diff", type=Path, metavar="OTHER_DIR",
                        help="the baseline run to compare alerts with")  # fmt: skip
    report.set_defaults(func=_report)


def _replay(args: argparse.Namespace) -> int:
    from streams.policy import load_policy, parse_duration
    from streams.replay.run import ReplayOptions, run_replay
    from streams.replay.timerange import DEFAULT_SLACK_S, TimeRange

    settings = load_settings()
    if args.from_file is not None and (args.topic or args.seek != "auto"):
        raise UsageError("--from-file reads a file: --topic and --seek do not apply")
    if args.slack is not None and args.slack < 0:
        raise UsageError("--slack must not be negative")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    time_range = TimeRange.parse(args.start, args.end)
    warmup_s = 0.0
    if args.warmup:
        try:
            warmup_s = parse_duration(args.warmup)
        except ValueError as exc:
            raise UsageError(f"--warmup: {exc}") from None
        if warmup_s < 0 or not args.start:
            raise UsageError("--warmup needs --from and a duration such as 14d")
    policy_path = args.policy or settings.policy_path
    policy = load_policy(policy_path)
    cert_topic = args.certifications_topic
    if cert_topic is None and args.from_file is None and not args.no_certifications_topic:
        # The worker's choice: the environment's topic, else the policy's.
        default = TopicNames().certifications
        cert_topic = settings.topics.certifications
        if cert_topic == default:
            cert_topic = policy.certifications_topic
    exceptions_topic = args.exceptions_topic
    if (exceptions_topic is None and args.from_file is None and args.exceptions is None
            and not args.no_exceptions_topic):  # fmt: skip
        exceptions_topic = settings.topics.exceptions
    model_path = None
    models_topic = args.models_topic
    if (models_topic is None and args.from_file is None and args.model is None
            and not args.no_model and not args.no_models_topic):  # fmt: skip
        models_topic = settings.topics.models
    if models_topic is not None and args.no_models_topic:
        raise UsageError("--models-topic and --no-models-topic contradict each other")
    if not args.no_model:
        model_path = args.model or settings.model_path
        if model_path is None:
            policy_model = policy.behavior_anomaly.model_path
            if policy_model is not None and policy_model.is_file():
                model_path = policy_model
    options = ReplayOptions(
        out_dir=args.out,
        time_range=time_range,
        policy_path=policy_path,
        bootstrap=args.bootstrap or settings.bootstrap,
        topic=None if args.from_file else (args.topic or settings.topics.events),
        from_file=args.from_file,
        certifications=args.certifications or settings.certifications_csv,
        certifications_topic=cert_topic,
        exceptions_file=args.exceptions,
        exceptions_topic=exceptions_topic,
        model_path=model_path,
        models_topic=models_topic,
        threshold=args.threshold,
        allowed_lateness_s=settings.allowed_lateness_s,
        max_clock_skew_s=settings.max_clock_skew_s,
        slack_s=DEFAULT_SLACK_S if args.slack is None else args.slack,
        warmup_s=warmup_s,
        seek=args.seek,
        publish_topic=args.publish,
        diff_dir=args.diff,
        report=not args.no_report,
        progress=not args.quiet and sys.stderr.isatty(),
        jobs=args.jobs,
    )
    stop = threading.Event()

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            "stopping after the current batch and writing partial output "
            "(Ctrl-C again to stop at once)",
            file=sys.stderr,
        )

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = run_replay(options, should_stop=stop.is_set, say=print)
    finally:
        signal.signal(signal.SIGINT, previous)
    manifest = result.manifest
    speed = manifest["speed"]
    processed = manifest["processed"]
    print(
        f"{manifest['status']}: {processed['events']:,} events judged "
        f"({processed['duplicates']:,} duplicates, {manifest['read']['invalid_messages']:,} "
        f"invalid) in {speed['elapsed_s']:.1f} s, {speed['events_per_s'] or 0:,.0f} events/s"
    )
    by_detector = ", ".join(f"{k} {v}" for k, v in manifest["alerts"]["by_detector"].items())
    print(f"alerts: {manifest['alerts']['total']:,}" + (f" ({by_detector})" if by_detector else ""))
    for warning in manifest["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    if "published" in manifest:
        print(f"published {manifest['published'].get('alerts', 0):,} alerts to {args.publish}")
    print(f"output: {args.out}")
    return 130 if result.partial else 0


def _report(args: argparse.Namespace) -> int:
    from streams.replay.rebuild import rebuild_report

    for line in rebuild_report(args.run_dir, args.diff):
        print(line)
    return 0

"""One replay run, start to finish: read, judge, keep, write, report, publish, compare.

Output directory (``--out``):

``run.json``
    The manifest, written last: what was asked, what was covered, counts,
    speed, input file hashes, warnings, and ``status`` ``complete`` or
    ``partial`` (interrupted: everything processed so far is written, and
    ``covered`` says up to which event time).
``alerts.jsonl`` / ``alerts.parquet``
    The latest message per ``alert_id``.
``searches.parquet``
    The search tally behind the report (see :mod:`streams.report.tally`).
``scores.parquet``
    Behaviour-model scores (a bounded even sample) when a model ran.
``report.html`` / ``compliance.csv``
    The report and the compliance rollup.
``diff.json``
    With ``--diff``: alerts that appeared or disappeared against another run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.scoring import BehaviorModel, load_model
from models.versions import ModelTimeline
from streams.detectors import Engine
from streams.errors import FrtwatchError, UsageError
from streams.exceptions import Exceptions
from streams.exceptions.loader import load_exceptions_file
from streams.exceptions.records import ExceptionRecords
from streams.policy import CertificateRegistry, Policy, load_certificates_csv, load_policy
from streams.replay.alert_store import ALERTS_JSONL, read_alert_records
from streams.replay.certificates import TopicLoad, apply_certifications_topic
from streams.replay.diff import DIFF_JSON, AlertDiff, diff_alerts
from streams.replay.driver import SCORE_BATCH, ReplayDriver
from streams.replay.exceptions import apply_exceptions_topic
from streams.replay.judging import judge_all
from streams.replay.manifest import (
    RUN_JSON,
    RunInputs,
    build_manifest,
    read_manifest,
    write_manifest,
)
from streams.replay.publish import publish_alerts
from streams.replay.scores import SCORES_PARQUET
from streams.replay.sources import EventSource, FileSource, KafkaSource
from streams.replay.timerange import DEFAULT_SLACK_S, TimeRange
from streams.report.build import ReportInputs, write_report
from streams.report.tally import SearchTally

__all__ = ["ReplayOptions", "ReplayResult", "read_manifest", "run_replay"]

SEARCHES_PARQUET = "searches.parquet"


@dataclass(slots=True)
class ReplayOptions:
    """Everything one run needs; the CLI fills it from flags and FRTWATCH_* settings."""

    out_dir: Path
    time_range: TimeRange
    policy_path: Path
    bootstrap: str = "127.0.0.1:9092"
    topic: str | None = None
    from_file: Path | None = None
    certifications: Path | None = None
    certifications_topic: str | None = None
    exceptions_file: Path | None = None
    """Judge with this file's exceptions (and the policy's file's) instead of the topic's."""
    exceptions_topic: str | None = None
    model_path: Path | None = None
    models_topic: str | None = None
    """Score with the versions of this models topic, each from its ``applies_from``, on
    top of ``model_path`` (which then applies before the first), as the worker does."""
    threshold: float | None = None
    allowed_lateness_s: float = 3600.0
    max_clock_skew_s: float = 300.0
    slack_s: float = DEFAULT_SLACK_S
    warmup_s: float = 0.0
    seek: str = "auto"
    publish_topic: str | None = None
    diff_dir: Path | None = None
    report: bool = True
    progress: bool = True
    score_batch: int = SCORE_BATCH
    jobs: int = 1
    """Processes that judge (each a share of the agencies: :mod:`streams.replay.parallel`)."""


@dataclass(slots=True)
class ReplayResult:
    manifest: dict[str, Any]
    driver: ReplayDriver
    diff: AlertDiff | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.manifest.get("status") == "partial")


def _read_range(options: ReplayOptions) -> TimeRange:
    """The range to read: the requested one, extended back by the warm-up."""
    requested = options.time_range
    if options.warmup_s <= 0 or math.isinf(requested.start):
        return requested
    return TimeRange(requested.start - options.warmup_s, requested.end)


def _source(options: ReplayOptions) -> EventSource:
    read_range = _read_range(options)
    if options.from_file is not None:
        return FileSource(options.from_file, read_range, options.max_clock_skew_s)
    if not options.topic:
        raise UsageError("say which topic to replay (--topic) or give --from-file")
    return KafkaSource(
        options.bootstrap,
        options.topic,
        read_range,
        slack_s=options.slack_s,
        seek=options.seek,
        max_clock_skew_s=options.max_clock_skew_s,
    )


def _check_dirs(options: ReplayOptions) -> None:
    out = options.out_dir.resolve()
    if options.diff_dir is not None:
        if options.diff_dir.resolve() == out:
            raise UsageError("--diff must name another run's directory, not --out")
        if not (options.diff_dir / ALERTS_JSONL).is_file() and not (options.diff_dir.is_file()):
            raise UsageError(f"--diff {options.diff_dir}: no {ALERTS_JSONL} there")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {options.out_dir} exists and is not a directory")


def _exceptions(
    options: ReplayOptions, policy: Policy
) -> tuple[Exceptions, Path | None, TopicLoad | None]:
    """The exceptions to judge with: the policy's file's, then ``--exceptions FILE``'s or the
    exceptions topic's (as the worker has them: :mod:`streams.replay.exceptions`)."""
    records = ExceptionRecords(policy.file_exceptions)
    if options.exceptions_file is not None:
        extra = load_exceptions_file(options.exceptions_file)
        return Exceptions((*policy.file_exceptions, *extra)), options.exceptions_file, None
    load = (
        apply_exceptions_topic(records, options.bootstrap, options.exceptions_topic)
        if options.exceptions_topic
        else None
    )
    return records.exceptions(), policy.exceptions_file, load


def _driver(
    options: ReplayOptions,
    engine: Engine,
    model: BehaviorModel | ModelTimeline | None,
    tally: SearchTally,
) -> ReplayDriver:
    if options.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {options.jobs}")
    if options.jobs == 1:
        return ReplayDriver(
            engine,
            model=model,
            threshold=options.threshold,
            tally=tally,
            score_batch=options.score_batch,
        )
    from streams.replay.parallel import MAX_JOBS, ParallelDriver

    if options.jobs > MAX_JOBS:
        raise UsageError(f"--jobs must be at most {MAX_JOBS}, got {options.jobs}")
    return ParallelDriver(
        engine,
        model=model,
        threshold=options.threshold,
        tally=tally,
        score_batch=options.score_batch,
        jobs=options.jobs,
    )


def run_replay(
    options: ReplayOptions,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    say: Callable[[str], None] = lambda line: None,
) -> ReplayResult:
    """Run one replay. ``should_stop`` is polled between batches (Ctrl-C sets it)."""
    _check_dirs(options)
    policy = load_policy(options.policy_path)
    cert_path = options.certifications or policy.certifications_csv
    certificates = (
        load_certificates_csv(cert_path) if cert_path is not None else CertificateRegistry()
    )
    topic_load = (
        apply_certifications_topic(certificates, options.bootstrap, options.certifications_topic)
        if options.certifications_topic
        else None
    )
    model: BehaviorModel | None = (
        load_model(options.model_path, policy.local_hours())
        if options.model_path is not None
        else None
    )
    timeline = ModelTimeline.single(model)
    refused: dict[str, str] = {}
    if options.models_topic:
        from streams.model_topic import read_topic_versions

        versions = read_topic_versions(options.bootstrap, options.models_topic,
                                       client_id="frtwatch-replay-models")  # fmt: skip
        versions.timeline(policy.local_hours(), timeline)
        refused = versions.refused
    exceptions, exceptions_path, exceptions_load = _exceptions(options, policy)
    engine = Engine(
        policy,
        certificates,
        allowed_lateness_s=options.allowed_lateness_s,
        exceptions=exceptions,
    )
    tally = SearchTally(policy, certificates)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    # Made before the source: judging processes are forked before any Kafka client exists.
    driver = _driver(options, engine, timeline if timeline else None, tally)
    try:
        started_at = datetime.now(UTC)
        source = _source(options)
        try:
            source_info = source.open()
            judged = judge_all(
                source,
                driver,
                judge_from=options.time_range.start if options.warmup_s > 0 else -math.inf,
                should_stop=should_stop,
                progress=options.progress,
            )
        finally:
            source.close()
    finally:
        driver.close()
    inputs = RunInputs(
        requested=options.time_range,
        read_range=_read_range(options),
        policy_path=options.policy_path,
        certifications_csv=cert_path,
        certifications_topic=topic_load,
        model_path=options.model_path if model is not None else None,
        behaviour_enabled=policy.behavior_anomaly.enabled,
        allowed_lateness_s=options.allowed_lateness_s,
        warmup_s=options.warmup_s,
        seek=options.seek,
        slack_s=options.slack_s,
        exceptions_file=exceptions_path,
        exceptions_topic=exceptions_load,
        exceptions=len(exceptions),
        timezones=policy.local_hours().describe(),
        models_topic=options.models_topic,
        model_versions=[v.describe() for v in timeline.versions],
        refused_versions=refused,
    )
    manifest = build_manifest(inputs, source, source_info, driver, judged, started_at)
    result = ReplayResult(manifest, driver)
    out = options.out_dir
    driver.alerts.write(out)
    tally.write_parquet(out / SEARCHES_PARQUET)
    if timeline:
        driver.scores.write_parquet(out / SCORES_PARQUET)
    else:
        (out / SCORES_PARQUET).unlink(missing_ok=True)
    new_records = [a.to_dict() for a in driver.alerts]
    if options.diff_dir is not None:
        baseline = read_alert_records(options.diff_dir)
        result.diff = diff_alerts(new_records, baseline)
        result.diff.write(out / DIFF_JSON, str(out), str(options.diff_dir))
        for line in result.diff.lines():
            say(line)
    else:
        (out / DIFF_JSON).unlink(missing_ok=True)
    if options.report:
        result.files += write_report(
            out,
            ReportInputs(
                tally=tally.to_frame(),
                alerts=new_records,
                scores=driver.scores.values(),
                threshold=driver.threshold,
                run=manifest,
                diff=result.diff.to_dict(str(out), str(options.diff_dir)) if result.diff else None,
            ),
        )
    if options.publish_topic:
        try:
            sent = publish_alerts(options.bootstrap, options.publish_topic, driver.alerts)
            manifest["published"] = {"topic": options.publish_topic, "alerts": sent}
        except FrtwatchError as exc:
            manifest["published"] = {"topic": options.publish_topic, "error": str(exc)}
            write_manifest(out, manifest)
            raise
    write_manifest(out, manifest)
    result.files = [out / ALERTS_JSONL, out / RUN_JSON, *result.files]
    return result

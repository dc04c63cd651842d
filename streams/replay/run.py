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

import gc
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from models.scoring import BehaviorModel, load_model
from streams.contract.alert import format_ts
from streams.detectors import Engine
from streams.errors import FrtwatchError, UsageError
from streams.policy import CertificateRegistry, load_certificates_csv, load_policy
from streams.replay.alert_store import ALERTS_JSONL, read_alert_records
from streams.replay.certificates import apply_certifications_topic
from streams.replay.diff import DIFF_JSON, AlertDiff, diff_alerts
from streams.replay.driver import SCORE_BATCH, ReplayDriver
from streams.replay.progress import ProgressView
from streams.replay.publish import publish_alerts
from streams.replay.scores import SCORES_PARQUET
from streams.replay.sources import EventSource, FileSource, KafkaSource
from streams.replay.timerange import DEFAULT_SLACK_S, TimeRange
from streams.report.build import ReportInputs, write_report
from streams.report.tally import SearchTally

RUN_JSON = "run.json"
SEARCHES_PARQUET = "searches.parquet"
RUN_SCHEMA = "frtwatch.replay-run.v1"
SLICE = 20_000
"""Events judged between two looks at the progress bar and at Ctrl-C."""


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
    model_path: Path | None = None
    threshold: float | None = None
    allowed_lateness_s: float = 3600.0
    slack_s: float = DEFAULT_SLACK_S
    warmup_s: float = 0.0
    seek: str = "auto"
    publish_topic: str | None = None
    diff_dir: Path | None = None
    report: bool = True
    progress: bool = True
    score_batch: int = SCORE_BATCH


@dataclass(slots=True)
class ReplayResult:
    manifest: dict[str, Any]
    driver: ReplayDriver
    diff: AlertDiff | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.manifest.get("status") == "partial")


@contextmanager
def paused_cyclic_gc() -> Iterator[None]:
    """Pause CPython's cycle collector while events are read and judged.

    A replay holds hundreds of thousands of live objects (buffered events,
    per-user states) and the collector rescans them as they age: measured, a
    quarter of a replay's CPU time. Nothing in the loop builds reference
    cycles (a 200,000-event run leaves about 200 cyclic objects, from client
    connections), and reference counting still frees everything else at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _sha256(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _iso(ts: float) -> str | None:
    return None if math.isinf(ts) else format_ts(ts)


def _read_range(options: ReplayOptions) -> TimeRange:
    """The range to read: the requested one, extended back by the warm-up."""
    requested = options.time_range
    if options.warmup_s <= 0 or math.isinf(requested.start):
        return requested
    return TimeRange(requested.start - options.warmup_s, requested.end)


def _source(options: ReplayOptions) -> EventSource:
    read_range = _read_range(options)
    if options.from_file is not None:
        return FileSource(options.from_file, read_range)
    if not options.topic:
        raise UsageError("say which topic to replay (--topic) or give --from-file")
    return KafkaSource(
        options.bootstrap,
        options.topic,
        read_range,
        slack_s=options.slack_s,
        seek=options.seek,
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
        load_model(options.model_path) if options.model_path is not None else None
    )
    engine = Engine(policy, certificates, allowed_lateness_s=options.allowed_lateness_s)
    tally = SearchTally(policy, certificates)
    driver = ReplayDriver(
        engine,
        model=model,
        threshold=options.threshold,
        tally=tally,
        score_batch=options.score_batch,
    )
    options.out_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    source = _source(options)
    try:
        source_info = source.open()
    except BaseException:
        source.close()
        raise
    status = "complete"
    warnings: list[str] = []
    first_ts, last_ts = math.inf, -math.inf
    handed = 0
    judge_from = options.time_range.start if options.warmup_s > 0 else -math.inf
    stopped_at: float | None = None  # event time of the first released event not judged
    detect_s = 0.0
    clock = time.perf_counter()
    try:
        with (
            paused_cyclic_gc(),
            ProgressView(
                source.total, getattr(source, "unit", ""), enabled=options.progress
            ) as view,
        ):
            try:
                for batch in source.batches(should_stop):
                    # Slices keep the progress bar moving and Ctrl-C prompt: one
                    # release of the merge can hold hundreds of thousands of events.
                    for begin in range(0, len(batch), SLICE):
                        part = batch[begin : begin + SLICE]
                        tick = time.perf_counter()
                        if min(e.ts for e in part) < judge_from:
                            driver.warm([e for e in part if e.ts < judge_from])
                            part = [e for e in part if e.ts >= judge_from]
                        driver.process(part)
                        detect_s += time.perf_counter() - tick
                        handed += len(part)
                        if part:
                            first_ts = min(first_ts, min(e.ts for e in part))
                            last_ts = max(last_ts, max(e.ts for e in part))
                        view.update(source.done, handed)
                        if should_stop():
                            if begin + SLICE < len(batch):
                                stopped_at = batch[begin + SLICE].ts
                            break
                    if should_stop():
                        break
                view.update(source.done, handed)
                if stopped_at is not None or not source.complete:
                    status = "partial"

            except KeyboardInterrupt:
                status = "partial"
                warnings.append("interrupted twice: the last batch may be only partly processed")
        tick = time.perf_counter()
        driver.flush_scores()
        detect_s += time.perf_counter() - tick
    finally:
        source.close()
    elapsed = time.perf_counter() - clock

    requested = options.time_range
    if status == "complete":
        covered_to = requested.end
    else:
        covered_to = min(requested.end, source.covered_to if stopped_at is None else stopped_at)
    stats = source.stats
    if status == "partial":
        warnings.insert(0, "partial run: interrupted before the end of the range")
    if isinstance(source, KafkaSource):
        methods = source.reader.methods
        scanned = sorted(p for p, how in methods.items() if how == "scan")
        bounded = not (math.isinf(requested.start) and math.isinf(requested.end))
        if options.seek == "auto" and bounded and scanned:
            warnings.append(
                f"partition(s) {', '.join(map(str, scanned))} were read whole: their message "
                "timestamps do not follow event times (loaded in bulk?), so seeking by time "
                "would have missed events"
            )
        lag_lo, lag_hi = stats.lag_min_s, stats.lag_max_s
        timed = [p for p, how in methods.items() if how == "time"]
        if timed and lag_lo <= lag_hi and max(lag_hi, -lag_lo) > options.slack_s:
            warnings.append(
                f"message timestamps differ from event times by {lag_lo:.0f} s to "
                f"{lag_hi:.0f} s, more than the seek slack ({options.slack_s:.0f} s): events "
                "near the range edges may not have been read; widen --slack or use --seek scan"
            )
    if topic_load is not None and not topic_load.found:
        warnings.append(
            f"certifications topic {topic_load.topic!r} does not exist: certificates come "
            "from the CSV alone"
        )
    if stats.invalid:
        warnings.append(
            f"{stats.invalid} invalid message(s) skipped (the live worker sends them to its "
            "dead-letter topic)"
        )
    if policy.behavior_anomaly.enabled and model is None:
        warnings.append("no behaviour model given (--model): behavior_anomaly was not scored")

    manifest: dict[str, Any] = {
        "schema": RUN_SCHEMA,
        "status": status,
        "started_at": format_ts(started_at.timestamp()),
        "finished_at": format_ts(datetime.now(UTC).timestamp()),
        "requested": requested.to_dict(),
        "covered": {"from": _iso(requested.start), "to": _iso(covered_to)},
        "events_time_span": {"first": _iso(first_ts), "last": _iso(last_ts)},
        "source": source_info,
        "position": source.position(),
        "policy": {"path": str(options.policy_path), "sha256": _sha256(options.policy_path)},
        "certifications": {
            "path": str(cert_path) if cert_path else None,
            "sha256": _sha256(cert_path),
            "topic": (
                {
                    "name": topic_load.topic,
                    "found": topic_load.found,
                    "records": topic_load.records,
                    "applied": topic_load.applied,
                    "rejected": topic_load.rejected,
                }
                if topic_load is not None
                else None
            ),
        },
        "model": (
            {
                "path": str(options.model_path),
                "sha256": _sha256(options.model_path),
                "threshold": driver.threshold,
            }
            if model is not None
            else None
        ),
        "allowed_lateness_s": options.allowed_lateness_s,
        "warmup": (
            {"from": _iso(_read_range(options).start), "events": driver.warmed}
            if options.warmup_s > 0
            else None
        ),
        "read": stats.to_dict(),
        "processed": {
            "events": driver.processed,
            "duplicates": driver.duplicates,
            "late": driver.late,
            "scored": driver.scored,
        },
        "alerts": {
            "total": len(driver.alerts),
            "messages": driver.alert_messages,
            "by_detector": driver.alerts.by_detector(),
        },
        "speed": {
            "elapsed_s": round(elapsed, 3),
            "detect_s": round(detect_s, 3),
            "read_parse_merge_s": round(elapsed - detect_s, 3),
            "events_per_s": round(handed / elapsed, 1) if elapsed > 0 else None,
            "messages_per_s": round(stats.messages / elapsed, 1) if elapsed > 0 else None,
        },
        "warnings": warnings,
    }
    result = ReplayResult(manifest, driver)
    out = options.out_dir
    driver.alerts.write(out)
    tally.write_parquet(out / SEARCHES_PARQUET)
    if model is not None:
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


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    tmp = out_dir / (RUN_JSON + ".tmp")
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    tmp.replace(out_dir / RUN_JSON)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_JSON
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise FrtwatchError(f"cannot read {path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError:
        raise FrtwatchError(f"{path} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("schema") != RUN_SCHEMA:
        raise FrtwatchError(f"{path} is not a replay manifest ({RUN_SCHEMA})")
    return data

"""``run.json``: what a replay was asked, what it covered and did, and what to be wary of.

Written last, so a directory with a ``run.json`` holds a finished (complete
or partial) run. The warnings are the things an analyst must know before
trusting the numbers: an interrupted run, partitions that had to be read
whole, message timestamps straying beyond the seek slack, a missing
certifications topic, invalid messages skipped, a behaviour detector that
was not scored.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.contract.alert import format_ts
from streams.errors import FrtwatchError
from streams.replay.certificates import TopicLoad
from streams.replay.driver import ReplayDriver
from streams.replay.judging import Judged
from streams.replay.sources import EventSource, KafkaSource
from streams.replay.timerange import TimeRange

RUN_JSON = "run.json"
RUN_SCHEMA = "frtwatch.replay-run.v1"


def iso(ts: float) -> str | None:
    """RFC 3339 of an epoch time; ``None`` for an unbounded (infinite) one."""
    return None if math.isinf(ts) else format_ts(ts)


def sha256_of(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(slots=True)
class RunInputs:
    """What the run was given, as resolved (paths after defaults)."""

    requested: TimeRange
    read_range: TimeRange
    policy_path: Path
    certifications_csv: Path | None
    certifications_topic: TopicLoad | None
    model_path: Path | None
    behaviour_enabled: bool
    allowed_lateness_s: float
    warmup_s: float
    seek: str
    slack_s: float
    exceptions_file: Path | None = None
    """``--exceptions FILE`` (else the policy's ``exceptions.file``)."""
    exceptions_topic: TopicLoad | None = None
    exceptions: int = 0
    """How many exceptions the run judged with."""
    timezones: dict[str, Any] | None = None
    """The policy's agency time zones (``LocalHours.describe()``): the report's days."""
    models_topic: str | None = None
    """The models topic whose versions scored the run (None: not read)."""
    model_versions: list[dict[str, Any]] | None = None
    """Every version the run knew (``ModelVersion.describe()``), in force by event time."""
    refused_versions: dict[str, str] | None = None
    """Versions of the models topic that failed a check, with the reason."""


def run_warnings(inputs: RunInputs, source: EventSource, judged: Judged) -> list[str]:
    warnings = list(judged.warnings)
    if not judged.complete:
        warnings.insert(0, "partial run: interrupted before the end of the range")
    stats = source.stats
    requested = inputs.requested
    if isinstance(source, KafkaSource):
        methods = source.reader.methods
        scanned = sorted(p for p, how in methods.items() if how == "scan")
        bounded = not (math.isinf(requested.start) and math.isinf(requested.end))
        if inputs.seek == "auto" and bounded and scanned:
            warnings.append(
                f"partition(s) {', '.join(map(str, scanned))} were read whole: their message "
                "timestamps do not follow event times (loaded in bulk?), so seeking by time "
                "would have missed events"
            )
        lag_lo, lag_hi = stats.lag_min_s, stats.lag_max_s
        timed = [p for p, how in methods.items() if how == "time"]
        if timed and lag_lo <= lag_hi and max(lag_hi, -lag_lo) > inputs.slack_s:
            warnings.append(
                f"message timestamps differ from event times by {lag_lo:.0f} s to "
                f"{lag_hi:.0f} s, more than the seek slack ({inputs.slack_s:.0f} s): events "
                "near the range edges may not have been read; widen --slack or use --seek scan"
            )
    topic = inputs.certifications_topic
    if topic is not None and not topic.found:
        warnings.append(
            f"certifications topic {topic.topic!r} does not exist: certificates come "
            "from the CSV alone"
        )
    exceptions_topic = inputs.exceptions_topic
    if exceptions_topic is not None and not exceptions_topic.found:
        warnings.append(
            f"exceptions topic {exceptions_topic.topic!r} does not exist: exceptions come "
            "from the policy's file alone"
        )
    if stats.invalid:
        warnings.append(
            f"{stats.invalid} invalid message(s) skipped (the live worker sends them to its "
            "dead-letter topic)"
        )
    if inputs.behaviour_enabled and inputs.model_path is None and not inputs.model_versions:
        warnings.append("no behaviour model given (--model) and no version on the models "
                        "topic: behavior_anomaly was not scored")  # fmt: skip
    for name, reason in sorted((inputs.refused_versions or {}).items()):
        warnings.append(f"model version {name} on the models topic was refused: {reason}")
    return warnings


def build_manifest(
    inputs: RunInputs,
    source: EventSource,
    source_info: dict[str, Any],
    driver: ReplayDriver,
    judged: Judged,
    started_at: datetime,
) -> dict[str, Any]:
    requested = inputs.requested
    if judged.complete:
        covered_to = requested.end
    else:
        reached = source.covered_to if judged.stopped_at is None else judged.stopped_at
        covered_to = min(requested.end, reached)
    stats = source.stats
    elapsed = judged.elapsed_s
    topic = inputs.certifications_topic
    return {
        "schema": RUN_SCHEMA,
        "status": "complete" if judged.complete else "partial",
        "started_at": format_ts(started_at.timestamp()),
        "finished_at": format_ts(datetime.now(UTC).timestamp()),
        "requested": requested.to_dict(),
        "covered": {"from": iso(requested.start), "to": iso(covered_to)},
        "events_time_span": {"first": iso(judged.first_ts), "last": iso(judged.last_ts)},
        "source": source_info,
        "position": source.position(),
        "policy": {
            "path": str(inputs.policy_path),
            "sha256": sha256_of(inputs.policy_path),
            "timezones": inputs.timezones,
        },
        "certifications": {
            "path": str(inputs.certifications_csv) if inputs.certifications_csv else None,
            "sha256": sha256_of(inputs.certifications_csv),
            "topic": (
                {
                    "name": topic.topic,
                    "found": topic.found,
                    "records": topic.records,
                    "applied": topic.applied,
                    "rejected": topic.rejected,
                }
                if topic is not None
                else None
            ),
        },
        "exceptions": {
            "path": str(inputs.exceptions_file) if inputs.exceptions_file else None,
            "sha256": sha256_of(inputs.exceptions_file),
            "topic": _topic_dict(inputs.exceptions_topic),
            "count": inputs.exceptions,
        },
        "model": (
            {
                "path": str(inputs.model_path),
                "sha256": sha256_of(inputs.model_path),
                "threshold": driver.threshold,
            }
            if inputs.model_path is not None
            else None
        ),
        "model_versions": (
            {
                "topic": inputs.models_topic,
                "versions": inputs.model_versions or [],
                "refused": inputs.refused_versions or {},
            }
            if inputs.models_topic is not None
            else None
        ),
        "allowed_lateness_s": inputs.allowed_lateness_s,
        "warmup": (
            {"from": iso(inputs.read_range.start), "events": driver.warmed}
            if inputs.warmup_s > 0
            else None
        ),
        "read": stats.to_dict(),
        "processed": {
            "events": driver.processed,
            "duplicates": driver.duplicates,
            "late": driver.late,
            "excepted": driver.excepted,
            "scored": driver.scored,
            "failed": driver.failed,
        },
        "alerts": {
            "total": len(driver.alerts),
            "messages": driver.alert_messages,
            "by_detector": driver.alerts.by_detector(),
        },
        "speed": {
            "elapsed_s": round(elapsed, 3),
            "detect_s": round(judged.detect_s, 3),
            "read_parse_merge_s": round(elapsed - judged.detect_s, 3),
            "events_per_s": round(judged.handed / elapsed, 1) if elapsed > 0 else None,
            "messages_per_s": round(stats.messages / elapsed, 1) if elapsed > 0 else None,
        },
        "warnings": run_warnings(inputs, source, judged),
    }


def _topic_dict(topic: TopicLoad | None) -> dict[str, Any] | None:
    if topic is None:
        return None
    return {
        "name": topic.topic,
        "found": topic.found,
        "records": topic.records,
        "applied": topic.applied,
        "rejected": topic.rejected,
    }


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

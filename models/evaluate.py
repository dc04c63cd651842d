"""User-level evaluation of a behaviour model against a simulated world's ``truth.json``.

Positives are the users of incidents whose expected detector is
``behavior_anomaly``; negatives are users with no incident at all (users of
other incidents are left out: their rule-breaking is not this model's job).
A user's score is their highest row score over the replayed events, and a
user is flagged when it reaches the model's threshold, which is exactly when
the stream would raise at least one ``behavior_anomaly`` alert for them.
Users with too little history to be scored count as not flagged, and rank
lowest in ``roc_auc``; ``roc_auc_scored`` leaves them out, which is the
harder figure (the model's ranking among users it did score).

:func:`alert_timing` judges a run instead of a model: it reads the alerts a
``frtwatch replay`` (or the worker) wrote and says, per behaviour incident,
when its first ``behavior_anomaly`` alert came, in event time, counted from
the incident's first search in the truth (``start``). An alert counts for an
incident when its evidence reaches into the incident (``last_seen >=
start``); its delay is ``first_seen - start`` (never below zero: a fold
opened a moment before the start still alerted in time). Users without any
incident who got a behaviour alert are the run's false alarms.
``--detector burst`` (or any other detector) times that detector's alerts
against its own incidents the same way.

Run it as ``python -m models.evaluate --world DIR --run OUT [--world ... --run
...]`` after ``frtwatch simulate --out DIR``, ``frtwatch model train`` and
``frtwatch replay --from-file DIR/events.jsonl --out OUT``; see ``--help``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from models.dataset import EventBatch, replay_features, user_max
from models.features import UTC_HOURS, LocalHours
from models.scoring import BehaviorModel
from streams.contract.alert import format_ts
from streams.contract.event import parse_timestamp
from streams.contract.keys import user_key
from streams.errors import ContractError, ModelError

DETECTOR = "behavior_anomaly"
DETECTORS = (
    "behavior_anomaly", "burst", "missing_case_number", "outside_agency",
    "prohibited_endpoint", "uncertified_user", "unknown_endpoint",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Evaluation:
    threshold: float
    positives: int
    negatives: int
    unscored_positives: int
    unscored_negatives: int
    true_positives: int
    false_positives: int
    precision: float
    recall: float
    roc_auc: float
    roc_auc_scored: float
    normal_flagged_share: float
    missed: list[str]
    false_alarms: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_truth(path: str | Path) -> tuple[set[str], set[str]]:
    """(behaviour-anomaly user keys, user keys of any incident) from ``truth.json``."""
    file = Path(path)
    try:
        truth = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read truth file {file}: {exc}") from None
    if not isinstance(truth, dict) or not isinstance(truth.get("incidents"), list):
        raise ModelError(f"{file} is not a frtwatch.truth.v1 file (no 'incidents' list)")
    anomalous: set[str] = set()
    involved: set[str] = set()
    for incident in truth["incidents"]:
        keys = {user_key(incident["agency"], user) for user in incident.get("users", ())}
        involved |= keys
        if incident.get("detector") == DETECTOR:
            anomalous |= keys
    return anomalous, involved


def evaluate(
    model: BehaviorModel,
    batch: EventBatch,
    anomalous: set[str],
    involved: set[str],
    hours: LocalHours = UTC_HOURS,
) -> Evaluation:
    """Score every user of ``batch`` and compare with the truth (see the module doc).

    ``hours``: the agencies' time zones (the policy's), as in training.
    """
    rows = replay_features(batch.events, hours)
    scores = model.score(rows.X)
    maxima = dict(zip(rows.users, user_max(scores, rows.user_index, len(rows.users)), strict=True))
    every_user = {e.user_key for e in batch.events} | anomalous
    positives = sorted(anomalous)
    negatives = sorted(every_user - involved)
    if not positives or not negatives:
        raise ModelError(
            f"the truth has {len(positives)} {DETECTOR} users and {len(negatives)} users "
            "without incidents; both are needed to evaluate"
        )
    floor = min((v for v in maxima.values() if np.isfinite(v)), default=0.0) - 1.0
    pos = np.array([maxima.get(u, -np.inf) for u in positives])
    neg = np.array([maxima.get(u, -np.inf) for u in negatives])
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    values = np.where(np.isfinite(np.r_[pos, neg]), np.r_[pos, neg], floor)
    tp = int(np.count_nonzero(pos >= model.threshold))
    fp = int(np.count_nonzero(neg >= model.threshold))
    return Evaluation(
        threshold=model.threshold,
        positives=len(pos),
        negatives=len(neg),
        unscored_positives=int(np.count_nonzero(~np.isfinite(pos))),
        unscored_negatives=int(np.count_nonzero(~np.isfinite(neg))),
        true_positives=tp,
        false_positives=fp,
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / len(pos),
        roc_auc=float(roc_auc_score(labels, values)),
        roc_auc_scored=_auc_scored(pos, neg),
        normal_flagged_share=fp / len(neg),
        missed=[u for u, v in zip(positives, pos, strict=True) if not v >= model.threshold],
        false_alarms=[u for u, v in zip(negatives, neg, strict=True) if v >= model.threshold],
    )


def _auc_scored(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC over users with at least one scored row (NaN when a class has none)."""
    p, n = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if not len(p) or not len(n):
        return float("nan")
    labels = np.r_[np.ones(len(p)), np.zeros(len(n))]
    return float(roc_auc_score(labels, np.r_[p, n]))


DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class IncidentTiming:
    """One behaviour incident of the truth and the first alert that covered it."""

    incident: str
    kind: str
    user: str
    start: str
    first_alert: str | None  # first_seen of the first alert reaching into the incident
    delay_days: float | None
    score: float | None  # the first alert's score (its latest version's)
    threshold: float | None


@dataclass(frozen=True, slots=True)
class AlertTiming:
    """Recall and time-to-first-alert of one run's ``behavior_anomaly`` alerts."""

    incidents: list[IncidentTiming]
    found: int
    recall: float
    delay_median_days: float | None
    delay_p90_days: float | None
    delay_max_days: float | None
    normal_users: int
    normal_users_alerted: int
    normal_alerts: int
    false_alarm_users: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read alerts file {path}: {exc}") from None


def _nearest_rank(values: list[float], share: float) -> float:
    """The nearest-rank quantile of sorted ``values``.

    >>> _nearest_rank([0.1, 0.2, 0.3, 5.0], 0.9)
    5.0
    """
    return values[max(0, math.ceil(share * len(values)) - 1)]


def alert_timing(
    truth_path: str | Path, alerts_path: str | Path, detector: str = DETECTOR
) -> AlertTiming:
    """Compare a run's ``detector`` alerts with the truth's incidents of that detector
    (``behavior_anomaly`` unless told; see the module doc)."""
    file = Path(truth_path)
    try:
        truth = json.loads(file.read_text(encoding="utf-8"))
        incidents = truth["incidents"]
        users = {user_key(u["agency"], u["user"]) for u in truth["users"]}
        involved = {user_key(i["agency"], u) for i in incidents for u in i.get("users", ())}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelError(f"{file} is not a frtwatch.truth.v1 file: {exc}") from None
    by_user: dict[str, list[tuple[float, float, dict[str, Any]]]] = {}
    for alert in _read_json_lines(Path(alerts_path)):
        if alert.get("detector") != detector:
            continue
        try:
            seen = parse_timestamp(alert["first_seen"]), parse_timestamp(alert["last_seen"])
            key = user_key(alert["agency"], alert["user"])
        except (KeyError, TypeError, ContractError) as exc:
            raise ModelError(f"{alerts_path}: an alert without usable times: {exc}") from None
        by_user.setdefault(key, []).append((*seen, alert.get("details") or {}))
    rows: list[IncidentTiming] = []
    for incident in incidents:
        if incident.get("detector") != detector:
            continue
        start = parse_timestamp(incident["start"])
        for user in incident.get("users", ()):
            key = user_key(incident["agency"], user)
            covering = sorted(
                (a for a in by_user.get(key, ()) if a[1] >= start), key=lambda a: a[0]
            )
            hit = covering[0] if covering else None
            rows.append(
                IncidentTiming(
                    incident=str(incident["id"]),
                    kind=str(incident.get("kind", "")),
                    user=key,
                    start=str(incident["start"]),
                    first_alert=format_ts(hit[0]) if hit else None,
                    delay_days=round(max(0.0, hit[0] - start) / DAY_S, 3) if hit else None,
                    score=hit[2].get("score") if hit else None,
                    threshold=hit[2].get("threshold") if hit else None,
                )
            )
    delays = sorted(r.delay_days for r in rows if r.delay_days is not None)
    normal = users - involved
    false_alarms = sorted(u for u in normal if u in by_user)
    return AlertTiming(
        incidents=rows,
        found=len(delays),
        recall=len(delays) / len(rows) if rows else float("nan"),
        delay_median_days=round(statistics.median(delays), 3) if delays else None,
        delay_p90_days=_nearest_rank(delays, 0.9) if delays else None,
        delay_max_days=delays[-1] if delays else None,
        normal_users=len(normal),
        normal_users_alerted=len(false_alarms),
        normal_alerts=sum(len(by_user[u]) for u in false_alarms),
        false_alarm_users=false_alarms,
    )


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} d"


def _print_timing(world: Path, run: Path, timing: AlertTiming) -> None:
    print(f"world {world}  run {run}")
    for row in timing.incidents:
        seen = (
            f"first alert {row.first_alert}  after {_days(row.delay_days)}  "
            f"score {row.score} (threshold {row.threshold})"
            if row.first_alert
            else "no alert"
        )
        print(f"  {row.incident:<8} {row.kind:<14} {row.user:<12} start {row.start}  {seen}")
    print(
        f"  recall {timing.found}/{len(timing.incidents)}  time to first alert: median "
        f"{_days(timing.delay_median_days)}, p90 {_days(timing.delay_p90_days)}, max "
        f"{_days(timing.delay_max_days)}  normal users alerted {timing.normal_users_alerted}"
        f"/{timing.normal_users} ({timing.normal_alerts} alerts)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.evaluate",
        description="Recall and time-to-first-alert of behavior_anomaly (or --detector) alerts against "
        "simulated worlds: give each world's directory (truth.json) and the output "
        "directory of a replay of it (alerts.jsonl), as pairs in the same order.",
        epilog="example: frtwatch simulate --out W --days 21 --seed 11; frtwatch model "
        "train --from-file W/events.jsonl --to 2026-03-09 --out M.skops; frtwatch replay "
        "--from-file W/events.jsonl --certifications W/certifications.csv --model M.skops "
        "--out R --no-report; python -m models.evaluate --world W --run R",
    )
    parser.add_argument("--world", type=Path, action="append", required=True,
                        help="a simulated world's directory (with truth.json)")  # fmt: skip
    parser.add_argument("--run", type=Path, action="append", required=True,
                        help="a replay's --out directory (with alerts.jsonl), or the file")  # fmt: skip
    parser.add_argument("--detector", default=DETECTOR, choices=DETECTORS,
                        help=f"whose alerts and incidents to compare (default {DETECTOR})")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if len(args.world) != len(args.run):
        print("python -m models.evaluate: give one --run per --world", file=sys.stderr)
        return 2
    results: list[dict[str, Any]] = []
    try:
        for world, run in zip(args.world, args.run, strict=True):
            alerts = run / "alerts.jsonl" if run.is_dir() else run
            timing = alert_timing(world / "truth.json", alerts, args.detector)
            if args.json:
                results.append({"world": str(world), "run": str(run), **timing.to_dict()})
            else:
                _print_timing(world, run, timing)
    except ModelError as exc:
        print(f"python -m models.evaluate: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``frtwatch model train|eval|compare|trainer|publish|promote|versions|show``: the
behaviour model's life cycle from the command line.

The model path defaults to ``FRTWATCH_MODEL``, else the policy's
``detectors.behavior_anomaly.model``, else ``models/artifacts/behavior.skops``.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.contract.alert import format_ts
from streams.contract.event import parse_timestamp
from streams.errors import ContractError, UsageError
from streams.settings import load_settings

if TYPE_CHECKING:
    from models.features import LocalHours
    from models.scoring import BehaviorModel

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _time_arg(text: str) -> float:
    """RFC 3339 (``2026-03-02T00:00:00Z``) or a date (``2026-03-02``, midnight UTC)."""
    value = f"{text}T00:00:00Z" if _DATE.fullmatch(text) else text
    try:
        return parse_timestamp(value)
    except ContractError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-03-02) or RFC 3339 time (2026-03-02T08:00:00Z)"
        ) from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 0.5:
        raise argparse.ArgumentTypeError("must be between 0 and 0.5 (e.g. 0.01 for 1%)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "model",
        help="train, evaluate and inspect the behaviour (isolation-forest) model",
        description=(
            "Train the behaviour model from a JSONL file or a Kafka topic's time range, "
            "evaluate it against a simulated world, or print its model card. Model path: "
            "--model/--out, else FRTWATCH_MODEL, else the policy's behavior_anomaly.model."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="fit the model on history and write the skops artifact and its model card",
        description=(
            "Replay each user's events through the stream's feature code, fit an isolation "
            "forest (seeded) and calibrate the alert threshold to flag about --target-fp of "
            "users. Topic ranges are by Kafka record timestamp, [--from, --to). Off-hours "
            "are read in each agency's time zone from the policy (FRTWATCH_POLICY); the "
            "worker refuses a model trained with other zones than its policy's."
        ),
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-file", type=Path, metavar="EVENTS_JSONL",
                        help="frt.search.v1 events, one JSON object per line")  # fmt: skip
    source.add_argument("--topic", help="a topic of frt.search.v1 events")
    train.add_argument("--from", dest="range_from", type=_time_arg, metavar="T1",
                       help="start of the range (inclusive); required with --topic")  # fmt: skip
    train.add_argument("--to", dest="range_to", type=_time_arg, metavar="T2",
                       help="end of the range (exclusive); required with --topic")  # fmt: skip
    train.add_argument("--bootstrap", help="Kafka bootstrap servers (default FRTWATCH_BOOTSTRAP)")
    train.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    train.add_argument("--target-fp", type=_fraction, default=None, metavar="SHARE",
                       help="share of normal users the threshold may flag in 14 days "
                            "(default 0.005, a margin under 1%%)")  # fmt: skip
    train.add_argument("--out", type=Path, help="artifact path (default: the model path)")
    train.set_defaults(func=_train)

    evaluate = actions.add_parser(
        "eval",
        help="precision, recall and ROC AUC against a simulated world's truth.json",
        description=(
            "User-level scores: positives are behavior_anomaly incident users, negatives are "
            "users with no incident; a user is flagged when any of their events scores at or "
            "above the threshold."
        ),
    )
    evaluate.add_argument("--events", type=Path, required=True, help="events.jsonl")
    evaluate.add_argument("--truth", type=Path, required=True, help="truth.json")
    evaluate.add_argument("--model", type=Path, help="artifact (default: the model path)")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(func=_eval)

    compare = actions.add_parser(
        "compare",
        help="how a candidate model disagrees with the one in force, on the same events",
        description=(
            "Score the events' feature rows (the stream's own feature code) with both "
            "models, in batches: the users each one flags (any row at or above its "
            "threshold) and the score correlation, over rows and over each user's highest "
            "score. Check this before a candidate replaces the model in force."
        ),
    )
    compare.add_argument("--events", type=Path, required=True,
                         help="frt.search.v1 events (JSONL) to score with both")  # fmt: skip
    current = compare.add_mutually_exclusive_group()
    current.add_argument("--model", type=Path,
                         help="the model in force (default: the model path)")  # fmt: skip
    current.add_argument("--model-version", metavar="NAME",
                         help="the model in force: this version of the models topic")  # fmt: skip
    candidate = compare.add_mutually_exclusive_group(required=True)
    candidate.add_argument("--candidate", type=Path, help="the candidate artifact")
    candidate.add_argument("--candidate-version", metavar="NAME",
                           help="the candidate: this version of the models topic (e.g. "
                                "one in its shadow period)")  # fmt: skip
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.set_defaults(func=_compare)

    trainer = actions.add_parser(
        "trainer",
        help="keep the model current: train from the events topic, publish versions",
        description=(
            "Run the trainer: once the events topic holds enough history "
            "(detectors.behavior_anomaly.training in the policy: min_history, min_users), "
            "train the first model from it with the stream's own feature code; then every "
            "retrain_every (event time) train again on the last `history`. Each version is "
            "published to the compacted models topic (FRTWATCH_TOPIC_MODELS, default "
            "frt.models) with the event time it applies from; workers and replays score each "
            "event with the version in force at its time. With training.shadow a new version "
            "first scores beside the current one, then is promoted or rejected. frtwatch "
            "worker runs one itself unless FRTWATCH_TRAINER=off. Stop it with Ctrl-C."
        ),
    )
    trainer.add_argument("--every", type=_seconds, metavar="SECONDS",
                         help="how often to check what is due (FRTWATCH_TRAINER_EVERY, "
                              "default 30)")  # fmt: skip
    trainer.add_argument("--once", action="store_true",
                         help="do what is due now, print it and exit")  # fmt: skip
    trainer.set_defaults(func=_trainer)

    publish = actions.add_parser(
        "publish",
        help="publish a trained artifact to the models topic as a version",
        description=(
            "Publish an artifact and its card (frtwatch model train --out) to the models "
            "topic, applying from --applies-from (event time). Workers load it as it "
            "arrives, with the same checks as a model file (skops, allow-listed types, "
            "sha256, features, time zones); a replay uses it for the events it applies to."
        ),
    )
    publish.add_argument("--model", type=Path, help="artifact (default: the model path)")
    publish.add_argument("--applies-from", type=_time_arg, required=True, metavar="TIME",
                         help="event time from which it scores (date or RFC 3339)")  # fmt: skip
    publish.add_argument("--shadow", action="store_true",
                         help="score beside the version in force without alerts")  # fmt: skip
    publish.add_argument("--version", help="version name (default: the artifact's sha256 prefix)")
    publish.set_defaults(func=_publish)

    promote = actions.add_parser(
        "promote",
        help="make a shadow version the one in force from an event time",
        description="Publish a version of the models topic again as active from --at.",
    )
    promote.add_argument("version", help="the version's name (frtwatch model versions)")
    promote.add_argument("--at", type=_time_arg, required=True, metavar="TIME",
                         help="event time from which it is in force")  # fmt: skip
    promote.set_defaults(func=_promote)

    versions = actions.add_parser(
        "versions", help="list the versions on the models topic, and whether each loads"
    )
    versions.add_argument("--json", action="store_true", help="print them as JSON")
    versions.set_defaults(func=_versions)

    show = actions.add_parser("show", help="print a model's card (JSON)")
    show.add_argument("--model", type=Path, help="artifact (default: the model path)")
    show.add_argument("--verify", action="store_true",
                      help="also load the model safely (hash, version, types) and say so")  # fmt: skip
    show.set_defaults(func=_show)


def _model_path(given: Path | None) -> Path:
    from models.artifact import default_model_path

    return given if given is not None else default_model_path(load_settings())


def _policy_hours() -> LocalHours:
    """The agencies' time zones of the policy (``FRTWATCH_POLICY``), which the worker uses too."""
    from streams.policy import load_policy

    return load_policy(load_settings().policy_path).local_hours()


def _train(args: argparse.Namespace) -> int:
    from models.dataset import EventBatch, read_events_file
    from models.train import DEFAULT_TARGET_USER_FP_RATE, train_to_file

    out = _model_path(args.out)
    started = time.perf_counter()
    batch: EventBatch
    if args.topic is not None:
        if args.range_from is None or args.range_to is None:
            raise UsageError("model train --topic needs --from and --to")
        from models.topic_source import read_topic_range

        bootstrap = args.bootstrap or load_settings().bootstrap
        batch = read_topic_range(args.topic, bootstrap, args.range_from, args.range_to)
    else:
        if args.bootstrap:
            raise UsageError("--bootstrap only applies to --topic")
        batch = read_events_file(args.from_file)
        lo, hi = args.range_from, args.range_to
        if lo is not None or hi is not None:
            batch = EventBatch(
                events=[e for e in batch.events
                        if (lo is None or e.ts >= lo) and (hi is None or e.ts < hi)],
                rejected=batch.rejected,
                source=batch.source,
            )  # fmt: skip
    target = args.target_fp if args.target_fp is not None else DEFAULT_TARGET_USER_FP_RATE
    hours = _policy_hours()
    card = train_to_file(
        batch,
        out,
        seed=args.seed,
        target_user_fp_rate=target,
        range_from=args.range_from,
        range_to=args.range_to,
        hours=hours,
    )
    training = card["training"]
    print(f"trained on {training['event_count']} events from {training['user_count']} users "
          f"({training['row_count']} rows, {training['rejected_count']} rejected) "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    print(f"threshold {card['threshold']:.4f} (target: {target:.2%} of normal users in 14 days)")
    print(f"wrote {out} (sha256 {card['artifact_sha256'][:16]}...) and its card")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from models.dataset import read_events_file
    from models.evaluate import evaluate, read_truth
    from models.scoring import load_model

    path = _model_path(args.model)
    hours = _policy_hours()
    model = load_model(path, hours)
    anomalous, involved = read_truth(args.truth)
    result = evaluate(model, read_events_file(args.events), anomalous, involved, hours)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    rows: list[tuple[str, Any]] = [
        ("model", path),
        ("threshold", f"{result.threshold:.4f}"),
        ("behaviour-anomaly users", f"{result.positives} ({result.unscored_positives} unscored)"),
        ("users without incidents", f"{result.negatives} ({result.unscored_negatives} unscored)"),
        ("precision", f"{result.precision:.3f}"),
        ("recall", f"{result.recall:.3f}"),
        ("ROC AUC", f"{result.roc_auc:.3f} (scored users only: {result.roc_auc_scored:.3f})"),
        ("normal users flagged", f"{result.false_positives} ({result.normal_flagged_share:.2%})"),
        ("missed", ", ".join(result.missed) or "-"),
        ("false alarms", ", ".join(result.false_alarms) or "-"),
    ]
    for label, value in rows:
        print(f"{label:<24} {value}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from models.compare import compare_models
    from models.dataset import read_events_file
    from models.scoring import load_model

    hours = _policy_hours()
    topic: dict[str, BehaviorModel] = {}
    if args.model_version or args.candidate_version:
        from streams.model_topic import read_versions

        settings = load_settings()
        versions = read_versions(settings)
        timeline = versions.timeline(hours)
        for name in (args.model_version, args.candidate_version):
            if name is None:
                continue
            found = timeline.get(name)
            if found is None:
                why = versions.refused.get(name, f"no such version on {settings.topics.models}")
                raise UsageError(f"version {name!r}: {why}")
            topic[name] = found.model
    current = (topic[args.model_version] if args.model_version
               else load_model(_model_path(args.model), hours))  # fmt: skip
    candidate = (topic[args.candidate_version] if args.candidate_version
                 else load_model(args.candidate, hours))  # fmt: skip
    result = compare_models(current, candidate, read_events_file(args.events).events, hours)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0

    def names(users: list[str]) -> str:
        shown = ", ".join(users[:10])
        return f"{len(users)}" + (f": {shown}" if users else "") + (" …" if len(users) > 10 else "")

    def corr(value: float) -> str:
        return "n/a" if value != value else f"{value:.3f}"

    for label, value in (
        ("in force", result.current),
        ("candidate", result.candidate),
        ("rows scored", f"{result.rows} ({result.users} users)"),
        ("flagged by both", names(result.flagged_both)),
        ("in force only", names(result.current_only)),
        ("candidate only", names(result.candidate_only)),
        ("agreement", f"{result.agreement:.1%} of the users either flags"),
        ("row scores", f"Pearson {corr(result.row_pearson)}, "
                       f"Spearman {corr(result.row_spearman)}"),
        ("users' highest scores", f"Pearson {corr(result.user_pearson)}, "
                                  f"Spearman {corr(result.user_spearman)}"),
    ):  # fmt: skip
        print(f"{label:<24} {value}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from models.artifact import read_card

    path = _model_path(args.model)
    if args.verify:
        from models.scoring import load_model

        load_model(path)
    print(json.dumps(read_card(path), indent=2))
    if args.verify:
        print(f"verified: {path} matches its card and loads with trusted types only")
    return 0


def _trainer(args: argparse.Namespace) -> int:
    import contextlib
    import logging
    import os

    from streams.model_trainer import Trainer
    from streams.policy import load_policy

    settings = load_settings()
    trainer = Trainer(settings, load_policy(settings.policy_path))
    every = args.every
    if every is None:
        try:
            every = _seconds(os.environ.get("FRTWATCH_TRAINER_EVERY", "30"))
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"FRTWATCH_TRAINER_EVERY: {exc}") from None
    if args.once:
        print(trainer.step())
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parent = os.getppid()
    # Started by a worker (FRTWATCH_TRAINER_PARENT): stop when that worker is gone.
    watched = os.environ.get("FRTWATCH_TRAINER_PARENT") == str(parent)
    with contextlib.suppress(KeyboardInterrupt):
        trainer.run(every, stop=(lambda: os.getppid() != parent) if watched else None)
    return 0


def _publish(args: argparse.Namespace) -> int:
    from models.scoring import load_model
    from models.version_record import encode
    from models.versions import ACTIVE, SHADOW
    from streams.model_topic import publish_record

    path = _model_path(args.model)
    load_model(path, _policy_hours())  # refuse here what every worker would refuse
    role = SHADOW if args.shadow else ACTIVE
    key, value = encode(path, role=role, applies_from=args.applies_from, version=args.version,
                        reason="published by hand", published_at=time.time())  # fmt: skip
    settings = load_settings()
    publish_record(settings, key, value)
    print(f"published version {key.decode()} ({role}) to {settings.topics.models}, applying "
          f"from {format_ts(args.applies_from)}")  # fmt: skip
    return 0


def _promote(args: argparse.Namespace) -> int:
    from models.versions import ACTIVE
    from streams.model_topic import read_versions
    from streams.model_trainer import republish

    settings = load_settings()
    versions = read_versions(settings)
    if args.version not in versions.values:
        known = ", ".join(sorted(versions.values)) or "none"
        raise UsageError(
            f"no version {args.version!r} on {settings.topics.models} (known: {known})"
        )
    print(republish(settings, args.version, ACTIVE, args.at, "promoted by hand", versions))
    return 0


def _versions(args: argparse.Namespace) -> int:
    from streams.model_topic import read_versions

    settings = load_settings()
    versions = read_versions(settings)
    versions.timeline(_policy_hours())
    rows = []
    for record in versions.headers():
        name = str(record.get("version"))
        card = record.get("card", {})
        rows.append({
            "version": name,
            "role": record.get("role"),
            "applies_from": record.get("applies_from"),
            "cutoff": card.get("training", {}).get("cutoff"),
            "threshold": card.get("threshold"),
            "loads": name not in versions.refused,
            "refused": versions.refused.get(name),
            "reason": record.get("reason"),
        })  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no versions on {settings.topics.models}")
        return 0
    for row in rows:
        state = "ok" if row["loads"] else f"REFUSED: {row['refused']}"
        print(f"{row['version']:<34} {row['role']:<8} from {row['applies_from']}  {state}"
              f"  ({row['reason']})")  # fmt: skip
    return 0

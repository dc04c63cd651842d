"""``frtwatch simulate``: write a seeded world of FRT searches, incidents and decoys."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

from streams.commands.produce import add_kafka_arguments, produce_world
from streams.settings import PROJECT_ROOT, load_settings
from streams.simulate import (
    CERTIFICATIONS_FILE,
    EVENTS_FILE,
    TRUTH_FILE,
    SimulationConfig,
    simulate,
)
from streams.simulate.world import MAX_DAYS, MAX_USERS, MIN_DAYS, MIN_USERS

DESCRIPTION = """\
Generate a deterministic, realistic world of facial-recognition searches from the
policy's agencies and systems, and write it into --out:

  events.jsonl        frt.search.v1 events, one per line, sorted by time
  certifications.csv  agency,user,certified_on,expires_on of the world's users
  truth.json          ground truth: users and roles, incidents with their expected
                      detector and evidence event ids, decoys that must stay silent

The world: every agency with an authorised system gets staff with roles —
occasional users (less than one search a day), regulars (a few a day) and
high-volume analysts (clusters of 18-28 searches an hour all shift) — on day
or evening shifts with days off and some leave, all certified. Ordinary work
breaks no rule.

In the second half of the run (after at least a week once --days >= 10),
incidents break exactly one rule each: a ring of users on a commercial
service (prohibited_endpoint), an unapproved vendor and another agency's
system (unknown_endpoint), searches for agencies no MOU covers
(outside_agency), an expired, a never-issued and a lapsed certificate
(uncertified_user), test/curiosity searches and investigations without a case
number (missing_case_number), loud and quiet bursts (burst), and users whose
behaviour changes without breaking a rule (behavior_anomaly). One burst comes
early instead: about a hundred searches in under an hour by an occasional user
in the run's first days, before anyone has a history (burst). Decoys must stay
silent: steady analysts and an agency-wide surge (no burst) and MOU-covered
requests (no outside_agency).

The same arguments always give byte-identical files."""

EPILOG = """\
examples:
  frtwatch simulate --out .demo/world
  frtwatch simulate --out /tmp/big --users 5000 --days 30 --seed 11
  frtwatch simulate --out .demo/world --produce --key null"""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _start_date(text: str) -> date:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date like 2026-03-02, got {text!r}") from None


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = sub.add_parser(
        "simulate",
        help="generate a seeded world of FRT searches with incidents, decoys and ground truth",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory to write events.jsonl, certifications.csv and truth.json into",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--users",
        type=_bounded(MIN_USERS, MAX_USERS),
        default=400,
        help=f"number of users over all agencies, {MIN_USERS}-{MAX_USERS} (default 400)",
    )
    parser.add_argument(
        "--days",
        type=_bounded(MIN_DAYS, MAX_DAYS),
        default=14,
        help=f"length of the run in days, {MIN_DAYS}-{MAX_DAYS} (default 14); "
        "incidents fall in the second half, after at least a week once --days >= 10",
    )
    parser.add_argument(
        "--start",
        type=_start_date,
        default=date(2026, 3, 2),
        metavar="YYYY-MM-DD",
        help="first day of the run, 00:00 UTC (default 2026-03-02)",
    )
    parser.add_argument(
        "--behaviour-days",
        type=_bounded(1, MAX_DAYS),
        default=None,
        metavar="N",
        help="behaviour-only incidents last N days from their onset, then the user's "
        "ordinary searching resumes (default: to the end of the run)",
    )
    parser.add_argument(
        "--policy",
        metavar="FILE",
        help="policy file (default: FRTWATCH_POLICY or config/policy.yaml)",
    )
    parser.add_argument(
        "--produce",
        action="store_true",
        help="then publish the certificates and the events to Kafka",
    )
    add_kafka_arguments(parser.add_argument_group("with --produce"))
    parser.set_defaults(func=_run)


def _policy(arg: str | None) -> tuple[Path, str]:
    """The policy path and how truth.json names it (as given, or relative to the project)."""
    if arg:
        return Path(arg), arg
    path = load_settings().policy_path
    try:
        return path, path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return path, str(path)


def _tally(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))


def _run(args: argparse.Namespace) -> int:
    policy_path, policy_label = _policy(args.policy)
    config = SimulationConfig(
        seed=args.seed,
        users=args.users,
        days=args.days,
        start=args.start,
        policy_path=policy_path,
        policy_label=policy_label,
        behaviour_days=args.behaviour_days,
    )
    result = simulate(config, args.out)
    truth = result.truth
    print(
        f"wrote {result.event_count:,} events of {result.user_count} users, {config.days} days "
        f"from {config.start}, into {args.out} in {result.seconds:.2f} s "
        f"({result.events_per_second:,.0f} events/s)"
    )
    incidents = Counter(i["detector"] for i in truth["incidents"])
    decoys = Counter(d["kind"] for d in truth["decoys"])
    print(f"incidents: {len(truth['incidents'])} ({_tally(incidents)})")
    print(f"decoys: {len(truth['decoys'])} ({_tally(decoys)})")
    print(f"files: {EVENTS_FILE}, {CERTIFICATIONS_FILE}, {TRUTH_FILE}")
    if args.produce:
        produce_world(args.out / EVENTS_FILE, args.out / CERTIFICATIONS_FILE, args)
    return 0

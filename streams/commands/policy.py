"""``frtwatch policy check``: validate a policy file (and its certificates) without starting anything."""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.contract.alert import DETECTORS
from streams.errors import ConfigError
from streams.policy import load_certificates_csv, load_policy
from streams.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "policy",
        help="validate a policy file",
        description=(
            "Validate a policy file and its certificate registry. Every error is listed as "
            "file:line: message; the exit status is 1 if there is any."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="validate and summarise a policy", description=parser.description
    )
    check.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="policy file (default: FRTWATCH_POLICY or config/policy.yaml)",
    )
    check.add_argument(
        "--certifications", type=Path, help="certificate CSV to check instead of the policy's"
    )
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    settings = load_settings()
    path = args.file or settings.policy_path
    errors: list[str] = []
    try:
        policy = load_policy(path)
    except ConfigError as exc:
        raise ConfigError(str(exc), exc.errors) from None
    csv_path = args.certifications or settings.certifications_csv or policy.certifications_csv
    certified = 0
    if csv_path is not None:
        try:
            certified = len(load_certificates_csv(csv_path))
        except ConfigError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigError(f"{len(errors)} error(s)", errors)
    enabled = [name for name in DETECTORS if policy.detector(name).enabled]
    print(f"{path}: valid")
    print(f"  agencies      {len(policy.agencies)}: {', '.join(sorted(policy.agencies))}")
    print(
        f"  authorised    {len(policy.authorised)} system(s); prohibited: {len(policy.prohibited_suffixes)} suffix(es)"
    )
    print(
        f"  certificates  {certified} user(s) from {csv_path or 'no CSV'}; live topic {policy.certifications_topic}"
    )
    print(f"  detectors     {', '.join(enabled)}")
    own = {
        name: gap for name in DETECTORS if (gap := policy.detector(name).session_gap_s) is not None
    }
    overrides = "".join(f", {name} {gap:g}s" for name, gap in own.items())
    print(f"  session gap   {policy.session_gap_s:g}s{overrides}")
    zones = {a.timezone for a in policy.agencies.values()} - {policy.default_timezone}
    own_zones = "".join(
        f", {code} {agency.timezone}"
        for code, agency in sorted(policy.agencies.items())
        if agency.timezone in zones
    )
    print(f"  time zones    {policy.default_timezone}{own_zones}")
    if policy.behavior_anomaly.enabled:
        t = policy.behavior_anomaly.training
        shadow = (
            f"shadow {t.shadow_s / 86400:g}d, promote {t.promote}" if t.shadow_s else "no shadow"
        )
        print(f"  training      first model after {t.min_history_s / 86400:g}d and {t.min_users} "
              f"users; every {t.retrain_every_s / 86400:g}d on {t.history_s / 86400:g}d; lead "
              f"{t.lead_s / 3600:g}h; {shadow}")  # fmt: skip
    return 0

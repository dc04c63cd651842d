"""``frtwatch catalogue check``: validate the FRT service catalogue."""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.sources.catalogue import DEFAULT_CATALOGUE, KINDS, load_catalogue


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = sub.add_parser(
        "catalogue",
        help="validate the catalogue of FRT services",
        description=(
            "Validate a catalogue of FRT services (vendor, kind, domain suffixes, a public "
            "source per entry). Every error is listed as file:line: message; the exit "
            "status is 1 if there is any."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="validate and summarise a catalogue", description=parser.description
    )
    check.add_argument(
        "file", nargs="?", type=Path, help="catalogue file (default: config/frt-services.yaml)"
    )
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    path = args.file or DEFAULT_CATALOGUE
    catalogue = load_catalogue(path)
    domains = sum(len(s.domains) for s in catalogue.services)
    print(f"{path}: valid")
    print(f"  services  {len(catalogue)} with {domains} domain(s)")
    for kind, count in catalogue.kinds().items():
        print(f"  {kind:<20} {count}  ({KINDS[kind]})")
    return 0

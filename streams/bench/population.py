"""Memory and state with many distinct users: 100k, then 1M, in one worker's tables.

A 14-day simulated world of a million users would be ~120M events, far too
many for a benchmark run, so this phase isolates what grows with the number
of users: a fresh worker (every detector, the model) receives one ordinary
search from each of N new users, every one certified and on an authorised
system with a case number, so nothing fires and only state grows. Worker
memory is read when the first 100k users are in its tables and again at 1M;
the difference per user is what each user costs in the tables. Every user
also has a certificate in the CSV the worker loads at start-up (as a real
deployment would); that registry's memory is part of the start-up figure.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from streams.bench.bulk_produce import Item
from streams.contract.keys import user_key

START_EPOCH = 1_773_792_000  # 2026-03-18T00:00:00Z, after the simulated world
SPREAD_S = 86_400
AGENCY_HOSTS = (
    ("MPD", "frt.county.example.gov"),
    ("CSO", "frt.county.example.gov"),
    ("TPD", "frt.county.example.gov"),
    ("UPD", "frt.county.example.gov"),
    ("SPD", "faces.state.example.gov"),
)


@dataclass(frozen=True, slots=True)
class PopulationUser:
    agency: str
    user: str
    host: str


def user(i: int) -> PopulationUser:
    agency, host = AGENCY_HOSTS[i % len(AGENCY_HOSTS)]
    return PopulationUser(agency, f"pop-{i:07d}", host)


def write_certificates(path: Path, users: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["agency", "user", "certified_on", "expires_on"])
        for i in range(users):
            u = user(i)
            out.writerow([u.agency, u.user, "2025-01-01", "2027-12-31"])
    return path


def _ts(seconds: float) -> str:
    from streams.contract.alert import format_ts

    return format_ts(seconds)


def events(first: int, last: int, total: int, seed: int = 11) -> Iterator[Item]:
    """One search per user ``first..last-1`` of ``total``, in event-time order over one day.

    Keys are ``<agency>/<user>``; message timestamps are the event times.
    """
    rng = random.Random(f"{seed}:{first}")
    for i in range(first, last):
        u = user(i)
        ts = START_EPOCH + (i + rng.random()) * SPREAD_S / max(total, 1)
        value = orjson.dumps({
            "event_id": f"pop-{i:07d}-1",
            "ts": _ts(ts),
            "agency": u.agency,
            "user": u.user,
            "endpoint": f"https://{u.host}/api/v2/search",
            "case_number": f"{u.agency}-2026-{i:07d}",
            "purpose": "investigation",
            "result_count": 3,
            "source": "audit-log",
        })  # fmt: skip
        yield user_key(u.agency, u.user).encode(), value, int(ts * 1000)


def is_population_key(key: bytes) -> bool:
    """Changelog keys are JSON strings: ``b'"MPD/pop-0000001"'``."""
    return b"/pop-" in key

"""A small seeded world of FRT searches with known behaviour-only anomalies, for model tests.

Normal users search in working hours with a case number, mostly finding
candidates; a few analysts search more and later. Anomalous users behave
normally, then run a late-night session of searches with new probe images,
no candidates found and irregular gaps, breaking no rule.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from streams.contract import SearchEvent

START = 1_772_409_600.0  # 2026-03-02T00:00:00Z
DAY = 86_400.0
HOST = "frt.county.example.gov"


@dataclass(frozen=True)
class World:
    events: list[SearchEvent]
    anomalous: set[str]  # user keys "<agency>/<user>"
    normal: set[str]


def _event(
    rng: random.Random, n: int, user: str, ts: float, *, night: bool, probes: list[str]
) -> SearchEvent:
    if probes and not night and rng.random() < 0.25:  # re-run an earlier probe image
        probe = rng.choice(probes[-5:])
    else:
        probe = hashlib.sha256(f"{user}-{rng.random()}".encode()).hexdigest()
        probes.append(probe)
    return SearchEvent(
        event_id=f"{user}-{n}",
        ts=ts,
        ts_text="",
        agency="MPD",
        user=user,
        endpoint=f"https://{HOST}/search",
        host=HOST,
        on_behalf_of="MPD",
        case_number=f"MPD-2026-{rng.randrange(10_000):06d}",
        probe_sha256=probe,
        result_count=0 if night and rng.random() < 0.9 else rng.choice([0, 1, 2, 3, 5, 8]),
    )


def make_world(seed: int = 7, users: int = 120, days: int = 14, anomalies: int = 8) -> World:
    rng = random.Random(seed)
    events: list[SearchEvent] = []
    anomalous: set[str] = set()
    normal: set[str] = set()
    for u in range(users):
        user = f"mpd-{u:04d}"
        role = rng.choices(["regular", "occasional", "analyst"], [0.6, 0.25, 0.15])[0]
        per_day = {"regular": 4.0, "occasional": 0.8, "analyst": 14.0}[role] * rng.uniform(0.6, 1.4)
        late = 20 if role == "analyst" else 17
        n = 0
        probes: list[str] = []
        for day in range(days):
            if day % 7 >= 5 and rng.random() < 0.8:
                continue
            for _ in range(int(rng.expovariate(1.0 / per_day) + 0.5)):
                hour = rng.uniform(7.5, late)
                events.append(
                    _event(
                        rng, n, user, START + day * DAY + hour * 3600, night=False, probes=probes
                    )
                )
                n += 1
        if u < anomalies:
            anomalous.add(f"MPD/{user}")
            day = days - 1 - rng.randrange(4)
            t = START + day * DAY + rng.uniform(22.5, 25.0) * 3600
            for _ in range(rng.randrange(18, 40)):
                t += rng.choice([rng.uniform(5, 40), rng.uniform(600, 3000)])
                events.append(_event(rng, n, user, t, night=True, probes=probes))
                n += 1
        else:
            normal.add(f"MPD/{user}")
    events.sort(key=lambda e: (e.ts, e.event_id))
    return World(events=events, anomalous=anomalous, normal=normal)

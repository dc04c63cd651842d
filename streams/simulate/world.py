"""The simulated population: agencies, users, roles, shifts, days off and certificates.

Everything here is drawn from one seeded generator, so the same seed and
arguments always give the same people. Each user also carries the seed of
their own generator: their searches do not shift when another part of the
scenario changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from streams.errors import FrtwatchError
from streams.policy import Policy
from streams.settings import DEFAULT_POLICY
from streams.simulate.timefmt import DAY_MS, MINUTE_MS

ROLES = ("occasional", "regular", "analyst")
# Share of each agency's staff per role; analysts are the specialist few.
ANALYST_SHARE = 0.06
REGULAR_SHARE = 0.54
MIN_USERS = 60
MAX_USERS = 100_000
MIN_DAYS = 3
MAX_DAYS = 366
SEARCH_PATH = "/api/v2/search"


class SimulationError(FrtwatchError):
    """The requested world cannot be built (too small, policy without usable agencies...)."""


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What ``frtwatch simulate`` was asked for; identical configs give identical files."""

    seed: int = 7
    users: int = 400
    days: int = 14
    start: date = date(2026, 3, 2)
    policy_path: Path = DEFAULT_POLICY
    # How truth.json names the policy file (the path as the user wrote it).
    policy_label: str = "config/policy.yaml"
    # Days a behaviour-only incident lasts before the user's routine resumes (None: to the end).
    behaviour_days: int | None = None

    def validate(self) -> None:
        if not MIN_USERS <= self.users <= MAX_USERS:
            raise SimulationError(
                f"--users must be between {MIN_USERS} and {MAX_USERS}, got {self.users}"
            )
        if not MIN_DAYS <= self.days <= MAX_DAYS:
            raise SimulationError(
                f"--days must be between {MIN_DAYS} and {MAX_DAYS}, got {self.days}"
            )
        if self.behaviour_days is not None and not 1 <= self.behaviour_days <= MAX_DAYS:
            raise SimulationError(
                f"--behaviour-days must be between 1 and {MAX_DAYS}, got {self.behaviour_days}"
            )


@dataclass(slots=True)
class SimUser:
    """One member of an agency and how they work."""

    agency: str
    user: str
    role: str
    rng_seed: str
    shift_start_min: int
    shift_len_min: int
    days_off: frozenset[int]  # weekdays, 0 = Monday
    endpoints: tuple[str, ...]  # authorised search URLs for the agency, primary first
    leave: tuple[int, int] | None = None  # day indices [first, last)
    certificate: tuple[str, str] | None = None  # (certified_on, expires_on), inclusive dates
    active_from_ms: int = 0
    active_until_ms: int = 2**62
    # Background searches inside these [from, until) windows are not generated:
    # a scenario replaces them (a burst, a surge, a changed behaviour).
    blackouts: list[tuple[int, int]] = field(default_factory=list)
    # Background searches inside [from, until) carry this label (incident or decoy).
    tag_windows: list[tuple[int, int, int]] = field(default_factory=list)
    reserved: bool = False

    @property
    def key(self) -> str:
        return f"{self.agency}/{self.user}"

    def certified_at(self, ts_ms: int) -> bool:
        """Whether the user holds a valid certificate at ``ts_ms`` (dates are inclusive)."""
        if self.certificate is None:
            return False
        first, last = (_date_ms(d) for d in self.certificate)
        return first <= ts_ms < last + DAY_MS


@dataclass(slots=True)
class World:
    """The agencies and people of one simulated run."""

    config: SimulationConfig
    policy: Policy
    start_ms: int
    days: int
    first_weekday: int
    history_days: int  # incidents start after this many days, so users have a baseline
    agencies: tuple[str, ...]
    endpoints: dict[str, tuple[str, ...]]  # agency -> authorised search URLs
    users: list[SimUser]

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.days * DAY_MS

    @property
    def year(self) -> int:
        return self.config.start.year

    def day_ms(self, day: int) -> int:
        return self.start_ms + day * DAY_MS

    def weekday(self, day: int) -> int:
        return (self.first_weekday + day) % 7

    def works(self, user: SimUser, day: int) -> bool:
        """Whether ``user`` is on duty on ``day`` (not a day off, not on leave, active)."""
        if self.weekday(day) in user.days_off:
            return False
        if user.leave is not None and user.leave[0] <= day < user.leave[1]:
            return False
        start = self.day_ms(day)
        return user.active_from_ms < start + DAY_MS and start < user.active_until_ms

    def shift(self, user: SimUser, day: int) -> tuple[int, int]:
        """The user's nominal shift on ``day`` as [start, end) milliseconds."""
        begin = self.day_ms(day) + user.shift_start_min * MINUTE_MS
        return begin, begin + user.shift_len_min * MINUTE_MS

    def work_days(self, user: SimUser, first: int, last: int | None = None) -> list[int]:
        """Days in [first, last) the user is on duty."""
        stop = self.days if last is None else min(last, self.days)
        return [day for day in range(max(first, 0), stop) if self.works(user, day)]

    def by_agency(self, agency: str) -> list[SimUser]:
        return [u for u in self.users if u.agency == agency]

    def date_text(self, day: int) -> str:
        """``YYYY-MM-DD`` of a day index (may be negative or past the run)."""
        return (self.config.start + timedelta(days=day)).isoformat()


def _date_ms(text: str) -> int:
    day = date.fromisoformat(text)
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


def _usable_agencies(policy: Policy) -> dict[str, tuple[str, ...]]:
    """Agencies with at least one authorised system, with their search URLs."""
    usable: dict[str, tuple[str, ...]] = {}
    for code in sorted(policy.agencies):
        hosts = [ep.host for ep in policy.authorised if ep.allows(code)]
        if hosts:
            usable[code] = tuple(f"https://{host}{SEARCH_PATH}" for host in hosts)
    return usable


def _split(total: int, weights: list[float], minimum: int) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights`` with a per-share floor."""
    spare = total - minimum * len(weights)
    raw = [spare * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: spare - sum(counts)]:
        counts[i] += 1
    return [c + minimum for c in counts]


def _roles(rng: random.Random, size: int) -> list[str]:
    analysts = round(size * ANALYST_SHARE) if size >= 15 else 0
    regulars = round(size * REGULAR_SHARE)
    roles = ["analyst"] * analysts + ["regular"] * regulars
    roles += ["occasional"] * (size - len(roles))
    rng.shuffle(roles)
    return roles


def _shift(rng: random.Random, role: str) -> tuple[int, int]:
    """(start minute, length minutes): mostly day shifts, a few evening ones."""
    if role != "analyst" and rng.random() < 0.1:
        return rng.choice((12, 13)) * 60 + rng.choice((0, 30)), 8 * 60
    start_hour = rng.choice((6, 7, 7, 8, 8, 8, 9, 10))
    return start_hour * 60 + rng.choice((0, 15, 30, 45)), rng.choice((8, 8, 9, 10)) * 60


def _days_off(rng: random.Random) -> frozenset[int]:
    if rng.random() < 0.7:
        return frozenset((5, 6))
    first = rng.randrange(7)
    return frozenset((first, (first + 1) % 7))


def build_world(config: SimulationConfig, policy: Policy) -> World:
    """Draw the agencies' staff for ``config`` from the policy."""
    config.validate()
    usable = _usable_agencies(policy)
    if not usable:
        raise SimulationError(
            f"{policy.source}: no agency has an authorised endpoint, so no valid traffic exists"
        )
    rng = random.Random(f"{config.seed}:world")
    codes = tuple(usable)
    weights = [rng.uniform(1.0, 4.0) for _ in codes]
    sizes = _split(config.users, weights, minimum=max(6, config.users // (10 * len(codes))))
    start = config.start
    start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()) * 1000
    # Incidents wait for ordinary history: half the run, and at least a full week
    # (weekdays and weekend, what a burst baseline needs) once the run has 10 days.
    history_days = max(config.days // 2, 7) if config.days >= 10 else max(1, config.days // 2)
    users: list[SimUser] = []
    for code, size in zip(codes, sizes, strict=True):
        for n, role in enumerate(_roles(rng, size), start=1):
            name = f"{code.lower()}-{n:04d}"
            shift_start, shift_len = _shift(rng, role)
            urls = list(usable[code])
            if len(urls) > 1 and rng.random() < 0.2:
                urls.append(urls.pop(0))  # a few prefer the second system
            leave = None
            if rng.random() < 0.12:
                length = rng.randint(2, 5)
                first = rng.randrange(0, max(1, config.days - length))
                leave = (first, first + length)
            certified_on = start - timedelta(days=rng.randint(20, 600))
            expires_on = certified_on + timedelta(days=729)
            floor = start + timedelta(days=config.days + 30)
            expires_on = max(expires_on, floor)
            users.append(
                SimUser(
                    agency=code,
                    user=name,
                    role=role,
                    rng_seed=f"{config.seed}:user:{code}/{name}",
                    shift_start_min=shift_start,
                    shift_len_min=shift_len,
                    days_off=_days_off(rng),
                    endpoints=tuple(urls),
                    leave=leave,
                    certificate=(certified_on.isoformat(), expires_on.isoformat()),
                )
            )
    return World(
        config=config,
        policy=policy,
        start_ms=start_ms,
        days=config.days,
        first_weekday=start.weekday(),
        history_days=history_days,
        agencies=codes,
        endpoints=usable,
        users=users,
    )

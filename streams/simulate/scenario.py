"""A scenario in the making: the world, the searches so far, and the labelled stories.

Incidents and decoys are *labels*: each names what a detector should (or must
not) say about some users, and every search that belongs to it carries the
label's index. The writer turns labels into ``truth.json`` entries whose
evidence and time span come from the searches themselves, so they cannot drift.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from streams.simulate.records import SearchSink
from streams.simulate.timefmt import MINUTE_MS
from streams.simulate.world import SimulationError, SimUser, World


@dataclass(slots=True)
class Label:
    """An incident (``detector`` set) or a decoy (``must_not_fire`` set)."""

    index: int
    id: str
    kind: str
    agency: str
    users: list[str] = field(default_factory=list)
    detector: str | None = None
    subject: str = ""
    must_not_fire: tuple[str, ...] = ()

    @property
    def is_incident(self) -> bool:
        return self.detector is not None


class Scenario:
    """Shared state while incidents and decoys are planned."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.sink = SearchSink()
        self.labels: list[Label] = []
        self._incidents = 0
        self._decoys = 0

    def incident(self, detector: str, kind: str, agency: str, subject: str = "") -> Label:
        self._incidents += 1
        label = Label(
            index=len(self.labels) + 1,
            id=f"inc-{self._incidents:03d}",
            kind=kind,
            agency=agency,
            detector=detector,
            subject=subject,
        )
        self.labels.append(label)
        return label

    def decoy(self, kind: str, agency: str, must_not_fire: Sequence[str]) -> Label:
        self._decoys += 1
        label = Label(
            index=len(self.labels) + 1,
            id=f"decoy-{self._decoys:03d}",
            kind=kind,
            agency=agency,
            must_not_fire=tuple(must_not_fire),
        )
        self.labels.append(label)
        return label

    def rng(self, topic: str) -> random.Random:
        """A generator of its own for one story, so stories do not disturb each other."""
        return random.Random(f"{self.world.config.seed}:{topic}")

    def candidates(
        self,
        roles: Sequence[str],
        agency: str | None = None,
        avoid: Sequence[str] = (),
        accept: Callable[[SimUser], bool] | None = None,
    ) -> list[SimUser]:
        return [
            u
            for u in self.world.users
            if not u.reserved
            and u.role in roles
            and (agency is None or u.agency == agency)
            and u.agency not in avoid
            and (accept is None or accept(u))
        ]

    def has_candidate(
        self,
        roles: Sequence[str],
        agency: str | None = None,
        accept: Callable[[SimUser], bool] | None = None,
    ) -> bool:
        """Whether :meth:`reserve` would find someone (stops at the first match)."""
        return any(
            not u.reserved
            and u.role in roles
            and (agency is None or u.agency == agency)
            and (accept is None or accept(u))
            for u in self.world.users
        )

    def reserve(
        self,
        rng: random.Random,
        label: Label,
        roles: Sequence[str] = ("regular",),
        agency: str | None = None,
        avoid: Sequence[str] = (),
        accept: Callable[[SimUser], bool] | None = None,
    ) -> SimUser:
        """Take one unused user for ``label``, preferring ``roles`` in order."""
        for role in roles:
            # Draw first and check ``accept`` after: checking every user up front costs
            # far more than the few draws a refusal takes.
            pool = self.candidates((role,), agency, avoid)
            while pool:
                user = pool.pop(rng.randrange(len(pool)))
                if accept is None or accept(user):
                    user.reserved = True
                    label.users.append(user.user)
                    return user
        raise SimulationError(
            f"too few users for the scenario ({label.kind} in {agency or 'any agency'}); "
            "use a larger --users"
        )

    def incident_days(self, user: SimUser) -> list[int]:
        """The user's working days in the part of the run where incidents happen."""
        return self.world.work_days(user, self.world.history_days)

    def time_in_shift(self, rng: random.Random, user: SimUser, day: int, room_ms: int = 0) -> int:
        """A moment inside the user's shift on ``day`` leaving ``room_ms`` before its end."""
        begin, end = self.world.shift(user, day)
        return rng.randint(begin + 10 * MINUTE_MS, max(begin + 10 * MINUTE_MS, end - room_ms))

"""How simulated searches are held before they are written.

A search is a plain tuple (cheap to build and to sort by time); the field
order is given by the ``F_*`` indices. ``label`` is 0 for ordinary traffic or
the index of the incident/decoy the search belongs to.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Final

# Field positions in a search tuple.
F_TS, F_AGENCY, F_USER, F_ENDPOINT, F_ON_BEHALF_OF = 0, 1, 2, 3, 4
F_CASE, F_PURPOSE, F_PROBE, F_RESULTS, F_SOURCE, F_LABEL = 5, 6, 7, 8, 9, 10

Search = tuple[int, str, str, str, str, Any, str, str, int, str, int]


class _Absent:
    """Marks a field left out of the JSON entirely (as opposed to null or blank)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

# Purposes of ordinary investigative work and how often they occur.
PURPOSES: Final = ("investigation",) * 47 + ("victim identification",) * 2 + ("missing person",)


def new_probe(rng: random.Random) -> str:
    """A fresh probe-image hash (never the image itself)."""
    return f"{rng.getrandbits(256):064x}"


def result_count(rng: random.Random, p_zero: float) -> int:
    """Candidates returned: none with probability ``p_zero``, else a long-tailed count."""
    draw = rng.random()
    if draw < p_zero:
        return 0
    # Reuse the same draw (uniform again above p_zero) for an exponential with mean 8.
    return min(50, 1 + int(-8.0 * math.log((1.0 - draw) / (1.0 - p_zero))))


@dataclass(slots=True)
class Case:
    number: str
    probes: list[str] = field(default_factory=list)


class CaseBook:
    """A user's investigations: case numbers and the probe images searched for each.

    Most searches use a new probe of the case; some re-run an earlier one,
    so probes are mostly (not all) distinct.
    """

    __slots__ = ("_agency", "_recent", "_rng", "_year")

    def __init__(self, agency: str, year: int, rng: random.Random) -> None:
        self._agency = agency
        self._year = year
        self._rng = rng
        self._recent: list[Case] = []

    def case_number(self, agency: str | None = None) -> str:
        return f"{agency or self._agency}-{self._year}-{self._rng.randint(1, 999_999):06d}"

    def open_case(self) -> Case:
        case = Case(self.case_number())
        self._recent.append(case)
        if len(self._recent) > 6:
            self._recent.pop(0)
        return case

    def pick_case(self, p_new: float) -> Case:
        """A new case with probability ``p_new``, else one of the recent ones."""
        if not self._recent or self._rng.random() < p_new:
            return self.open_case()
        return self._recent[int(self._rng.random() * len(self._recent))]

    def probe(self, case: Case, p_new: float) -> str:
        # Hot path: plain random() instead of choice(), which costs several times more.
        probes = case.probes
        draw = self._rng.random()
        if not probes or draw < p_new:
            probes.append(f"{self._rng.getrandbits(256):064x}")
            return probes[-1]
        return probes[int((draw - p_new) / (1.0 - p_new) * len(probes))]


class SearchSink:
    """Collects searches; the writer sorts them by time at the end."""

    __slots__ = ("searches",)

    def __init__(self) -> None:
        self.searches: list[Search] = []

    def __len__(self) -> int:
        return len(self.searches)

    def add(
        self,
        ts_ms: int,
        agency: str,
        user: str,
        endpoint: str,
        *,
        on_behalf_of: str | None = None,
        case: Any,
        purpose: str = "investigation",
        probe: str,
        results: int,
        source: str = "audit-log",
        label: int = 0,
    ) -> None:
        self.searches.append(
            (
                ts_ms,
                agency,
                user,
                endpoint,
                on_behalf_of or agency,
                case,
                purpose,
                probe,
                results,
                source,
                label,
            )
        )

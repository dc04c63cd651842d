"""Who may do what in the console: a role per account, and the agencies it may see.

Roles separate duties in a SOC:

* ``analyst`` triages: acknowledges alerts and adds notes;
* ``lead`` also assigns, resolves and reopens;
* ``auditor`` only reads: alerts, their audit trail, and the analytics reports;
* ``admin`` may do everything a lead may.

Every role reads only the agencies of its scope (``*``: all of them, for a
regional SOC). An alert outside the scope does not exist for the account: the
API and the pages answer 404, lists and live streams leave it out.

>>> analyst = Access("analyst", frozenset({"MPD"}))
>>> analyst.sees("MPD"), analyst.sees("SPD"), analyst.may("acknowledge"), analyst.may("resolve_true_positive")
(True, False, True, False)
>>> Access("auditor", ALL_AGENCIES).may("comment")
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ROLES = ("admin", "lead", "analyst", "auditor")
ALL_AGENCIES: frozenset[str] = frozenset({"*"})

_ANALYST_ACTIONS = frozenset({"acknowledge", "comment"})
_LEAD_ACTIONS = _ANALYST_ACTIONS | {
    "assign",
    "resolve_true_positive",
    "resolve_false_positive",
    "reopen",
}
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": _LEAD_ACTIONS,
    "lead": _LEAD_ACTIONS,
    "analyst": _ANALYST_ACTIONS,
    "auditor": frozenset(),
}


@dataclass(frozen=True, slots=True)
class Access:
    """An account's role and agency scope (``{"*"}`` for every agency)."""

    role: str
    agencies: frozenset[str]

    @property
    def everywhere(self) -> bool:
        return "*" in self.agencies

    def sees(self, agency: str) -> bool:
        return self.everywhere or agency in self.agencies

    def may(self, action: str) -> bool:
        return action in ROLE_ACTIONS.get(self.role, frozenset())

    @property
    def actions(self) -> list[str]:
        """The triage actions this role may take, in a stable order."""
        return sorted(ROLE_ACTIONS.get(self.role, frozenset()))

    def visible(self, agencies: Iterable[str]) -> list[str]:
        return [a for a in agencies if self.sees(a)]


NO_ACCESS = Access("auditor", frozenset())
"""What an unknown or removed account gets: nothing to read, nothing to do."""

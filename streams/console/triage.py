"""Triage: what analysts did about an alert, as an append-only list of actions.

The action log is the source of truth. The current state of an alert (status,
resolution, assignee) is a fold of its actions in log order, so every console
instance that reads the same log agrees on it, and nothing an analyst did is
ever overwritten: two analysts acting at once both appear in the history.

>>> s = TriageState(alert_id="a1")
>>> s = apply_action(s, TriageAction("x1", "a1", "acknowledge", "ana", 10.0, "looking"))
>>> s = apply_action(s, TriageAction("x2", "a1", "resolve_false_positive", "bo", 20.0, ""))
>>> s.status, s.resolution, s.updated_by, s.actions
('resolved', 'false_positive', 'bo', 2)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from streams.contract.alert import format_ts
from streams.contract.event import parse_timestamp
from streams.errors import ContractError, FrtwatchError

TRIAGE_SCHEMA = "frt.triage-action.v1"
ACTIONS = (
    "acknowledge",
    "assign",
    "resolve_true_positive",
    "resolve_false_positive",
    "reopen",
    "comment",
)
STATUSES = ("open", "acknowledged", "resolved")
MAX_NOTE = 2000


class TriageError(FrtwatchError):
    """A triage request that cannot be applied (bad action, wrong state, bad input)."""


@dataclass(frozen=True, slots=True)
class TriageAction:
    """One analyst action: who did what to which alert, when (wall clock), and why."""

    action_id: str
    alert_id: str
    action: str
    actor: str
    at: float
    note: str = ""
    assignee: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": TRIAGE_SCHEMA,
            "action_id": self.action_id,
            "alert_id": self.alert_id,
            "action": self.action,
            "actor": self.actor,
            "at": format_ts(round(self.at, 3)),
            "note": self.note,
            "assignee": self.assignee,
        }

    @classmethod
    def from_dict(cls, obj: Any) -> TriageAction:
        """Read an action back from the log; :class:`TriageError` when malformed."""
        if not isinstance(obj, dict) or obj.get("schema") != TRIAGE_SCHEMA:
            raise TriageError(f"not a {TRIAGE_SCHEMA} record")
        try:
            action = cls(
                action_id=str(obj["action_id"]),
                alert_id=str(obj["alert_id"]),
                action=str(obj["action"]),
                actor=str(obj["actor"]),
                at=parse_timestamp(str(obj["at"])),
                note=str(obj.get("note") or ""),
                assignee=None if obj.get("assignee") is None else str(obj["assignee"]),
            )
        except (KeyError, ContractError) as exc:
            raise TriageError(f"malformed triage record: {exc}") from None
        if action.action not in ACTIONS:
            raise TriageError(f"unknown triage action {action.action!r}")
        return action


def new_action(
    alert_id: str, action: str, actor: str, at: float, note: str = "", assignee: str | None = None
) -> TriageAction:
    """A new action with a fresh id, after checking its shape (not the alert's state)."""
    if action not in ACTIONS:
        raise TriageError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise TriageError(f"the note is longer than {MAX_NOTE} characters")
    if action == "comment" and not note:
        raise TriageError("a comment needs a note")
    assignee = ((assignee or "").strip() or None) if action == "assign" else None
    return TriageAction(uuid.uuid4().hex, alert_id, action, actor, at, note, assignee)


@dataclass(frozen=True, slots=True)
class TriageState:
    """The current triage of one alert, derived from its actions."""

    alert_id: str
    status: str = "open"
    resolution: str | None = None
    assignee: str | None = None
    updated_by: str | None = None
    updated_at: float | None = None
    actions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "status": self.status,
            "resolution": self.resolution,
            "assignee": self.assignee,
            "updated_by": self.updated_by,
            "updated_at": format_ts(round(self.updated_at, 3)) if self.updated_at else None,
            "actions": self.actions,
        }


def apply_action(state: TriageState, action: TriageAction) -> TriageState:
    """The state after ``action``. Total: any action in the log applies, in log order."""
    changes: dict[str, Any] = {
        "updated_by": action.actor,
        "updated_at": action.at,
        "actions": state.actions + 1,
    }
    if action.action == "acknowledge" and state.status == "open":
        changes["status"] = "acknowledged"
    elif action.action == "assign":
        changes["assignee"] = action.assignee
        if state.status == "open":
            changes["status"] = "acknowledged"
    elif action.action in ("resolve_true_positive", "resolve_false_positive"):
        changes["status"] = "resolved"
        changes["resolution"] = action.action.removeprefix("resolve_")
    elif action.action == "reopen":
        changes["status"] = "open"
        changes["resolution"] = None
    return replace(state, **changes)


def refusal(state: TriageState, action: TriageAction) -> str | None:
    """Why ``action`` makes no sense in ``state`` (shown to the analyst), or ``None``."""
    if action.action == "acknowledge" and state.status != "open":
        return f"the alert is already {state.status}"
    if action.action.startswith("resolve_") and state.status == "resolved":
        return "the alert is already resolved; reopen it first"
    if action.action == "reopen" and state.status != "resolved":
        return "only a resolved alert can be reopened"
    if action.action == "assign" and action.assignee == state.assignee:
        if action.assignee:
            return "the alert is already assigned to that person"
        return "the alert is not assigned"
    return None

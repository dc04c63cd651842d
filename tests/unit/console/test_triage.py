"""Triage: a fold over an append-only action log."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from streams.console.triage import (
    TriageAction,
    TriageError,
    TriageState,
    apply_action,
    new_action,
    refusal,
)
from streams.console.triage_book import TriageBook
from streams.console.triage_log import state_record


def act(action: str, actor: str = "ana", at: float = 100.0, **kw: str) -> TriageAction:
    return new_action("a1", action, actor, at, **kw)


def test_lifecycle_and_who_and_when() -> None:
    state = TriageState("a1")
    state = apply_action(state, act("acknowledge", at=10))
    assert (state.status, state.updated_by, state.updated_at) == ("acknowledged", "ana", 10)
    state = apply_action(state, act("assign", "bo", 20, assignee="cy"))
    assert state.assignee == "cy" and state.updated_by == "bo"
    state = apply_action(state, act("resolve_true_positive", "cy", 30, note="confirmed"))
    assert (state.status, state.resolution) == ("resolved", "true_positive")
    state = apply_action(state, act("reopen", at=40))
    assert (state.status, state.resolution, state.assignee) == ("open", None, "cy")
    state = apply_action(state, act("comment", at=50, note="still looking"))
    assert state.status == "open" and state.actions == 5


def test_assigning_an_open_alert_acknowledges_it() -> None:
    state = apply_action(TriageState("a1"), act("assign", assignee="bo"))
    assert state.status == "acknowledged"


def test_fold_is_total_for_racing_instances() -> None:
    # two consoles acknowledged at once: both actions are kept, the state is consistent
    state = TriageState("a1")
    for action in (act("acknowledge", "ana"), act("acknowledge", "bo")):
        state = apply_action(state, action)
    assert state.status == "acknowledged" and state.actions == 2 and state.updated_by == "bo"


@pytest.mark.parametrize(
    ("status", "action", "allowed"),
    [
        ("open", "acknowledge", True),
        ("acknowledged", "acknowledge", False),
        ("resolved", "resolve_false_positive", False),
        ("acknowledged", "resolve_false_positive", True),
        ("open", "reopen", False),
        ("resolved", "reopen", True),
        ("resolved", "comment", True),
    ],
)
def test_refusals(status: str, action: str, allowed: bool) -> None:
    note = "n" if action == "comment" else ""
    assert (refusal(TriageState("a1", status=status), act(action, note=note)) is None) is allowed


def test_assigning_to_the_current_assignee_is_refused() -> None:
    state = TriageState("a1", assignee="bo")
    assert refusal(state, act("assign", assignee="bo")) is not None
    assert refusal(state, act("assign", assignee="")) is None
    assert refusal(TriageState("a1"), act("assign", assignee="")) is not None


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [("delete", {}), ("comment", {"note": "   "}), ("acknowledge", {"note": "x" * 2001})],
)
def test_bad_actions_are_refused(action: str, kwargs: dict[str, str]) -> None:
    with pytest.raises(TriageError):
        new_action("a1", action, "ana", 100.0, note=kwargs.get("note", ""))


def test_assignee_only_kept_for_assign() -> None:
    assert act("acknowledge", assignee="bo").assignee is None
    assert act("assign", assignee="  bo ").assignee == "bo"


def test_action_round_trips_through_json() -> None:
    action = act("assign", note="<b>note</b>", assignee="bo")
    back = TriageAction.from_dict(orjson.loads(orjson.dumps(action.to_dict())))
    assert back == action


@pytest.mark.parametrize(
    "obj",
    [None, [], {"schema": "x"}, {"schema": "frt.triage-action.v1"},
     {"schema": "frt.triage-action.v1", "action_id": "1", "alert_id": "a", "action": "nuke",
      "actor": "x", "at": "2026-03-01T00:00:00Z"},
     {"schema": "frt.triage-action.v1", "action_id": "1", "alert_id": "a", "action": "reopen",
      "actor": "x", "at": "noon"}],
)  # fmt: skip
def test_malformed_log_records_are_refused(obj: object) -> None:
    with pytest.raises(TriageError):
        TriageAction.from_dict(obj)


def test_book_keeps_history_in_log_order_and_ignores_redelivery() -> None:
    book = TriageBook()
    first, second = act("acknowledge", at=1), act("resolve_false_positive", "bo", 2)
    assert book.apply(first) is not None
    assert book.apply(second) is not None
    assert book.apply(first) is None
    assert [a.action for a in book.history("a1")] == ["acknowledge", "resolve_false_positive"]
    assert book.status("a1") == "resolved" and book.status("other") == "open"


async def test_writer_is_told_when_its_action_is_read_back() -> None:
    book = TriageBook()
    action = act("acknowledge")
    waiter = book.expect(action.action_id)
    assert not waiter.done()
    book.apply(action)
    state = await asyncio.wait_for(waiter, 1)
    assert state.status == "acknowledged"


def test_state_record_for_the_compacted_topic() -> None:
    action = act("acknowledge")
    record = orjson.loads(state_record(apply_action(TriageState("a1"), action), action))
    assert record["schema"] == "frt.triage-state.v1"
    assert (
        record["status"] == "acknowledged"
        and record["last_action"]["action_id"] == action.action_id
    )

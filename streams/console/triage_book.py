"""Every alert's triage state and history, rebuilt by reading the action log.

The book is filled only by the log reader, in log order, including the
actions this instance wrote itself: an instance sees its own action exactly
when every other instance does, so they all hold the same state. Writers wait
for their action to come back (``wait_for``) before answering the analyst.
"""

from __future__ import annotations

import asyncio

from streams.console.triage import TriageAction, TriageState, apply_action


class TriageBook:
    """Triage state and history per alert (human-scale data: kept whole).

    >>> book = TriageBook()
    >>> _ = book.apply(TriageAction("x1", "a1", "acknowledge", "ana", 1.0))
    >>> book.apply(TriageAction("x1", "a1", "acknowledge", "ana", 1.0)) is None  # duplicate
    True
    >>> book.state("a1").status, len(book.history("a1")), book.state("zz").status
    ('acknowledged', 1, 'open')
    """

    def __init__(self) -> None:
        self._states: dict[str, TriageState] = {}
        self._history: dict[str, list[TriageAction]] = {}
        self._seen: set[str] = set()
        self._waiters: dict[str, asyncio.Future[TriageState]] = {}

    def __len__(self) -> int:
        return len(self._states)

    def state(self, alert_id: str) -> TriageState:
        return self._states.get(alert_id) or TriageState(alert_id=alert_id)

    def status(self, alert_id: str) -> str:
        state = self._states.get(alert_id)
        return state.status if state is not None else "open"

    def history(self, alert_id: str) -> list[TriageAction]:
        return list(self._history.get(alert_id, ()))

    def apply(self, action: TriageAction) -> TriageState | None:
        """Fold one logged action in; ``None`` for a redelivered duplicate."""
        if action.action_id in self._seen:
            return None
        self._seen.add(action.action_id)
        state = apply_action(self.state(action.alert_id), action)
        self._states[action.alert_id] = state
        self._history.setdefault(action.alert_id, []).append(action)
        waiter = self._waiters.pop(action.action_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(state)
        return state

    def expect(self, action_id: str) -> asyncio.Future[TriageState]:
        """A future resolved when ``action_id`` is read back from the log."""
        future: asyncio.Future[TriageState] = asyncio.get_running_loop().create_future()
        self._waiters[action_id] = future
        return future

    def forget_wait(self, action_id: str) -> None:
        self._waiters.pop(action_id, None)

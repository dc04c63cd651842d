"""Fan-out of alert changes to the browsers watching the live feed.

Each open feed is a :class:`Subscriber` with its own filter and a bounded
queue. A browser that falls too far behind is not allowed to grow memory: its
queue is marked overflowed, the stream tells it to reload, and it starts over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.console.alert_store import AlertFilter, StoredAlert

CLOSE = None  # queued to end a stream (shutdown)


@dataclass(eq=False)
class Subscriber:
    """One open live stream."""

    flt: AlertFilter
    session_id: str = ""
    tab: str = ""  # the page's own id: its next stream replaces this one
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=500)
    )
    overflowed: bool = False
    signed_out: bool = False
    replaced: bool = False

    def offer(self, message: dict[str, Any] | None) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True


class LiveHub:
    """Pushes alert changes to subscribers whose filter they concern.

    ``view`` turns a stored alert into the JSON the browser renders (with its
    triage state); ``status_of`` gives an alert's triage status for filtering.
    """

    def __init__(
        self,
        view: Callable[[StoredAlert], dict[str, Any]],
        status_of: Callable[[str], str],
    ) -> None:
        self._view = view
        self._status_of = status_of
        self._subscribers: set[Subscriber] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self, flt: AlertFilter, session_id: str = "", tab: str = "") -> Subscriber:
        """A new stream; one the same page (``tab``) still has open is ended now.

        A page that changes its filter opens a new stream at once, while the server
        notices the old one's closed connection only within a moment. Without the
        replacement, a few quick filter changes would reach the per-session limit.
        """
        if tab:
            for old in self._subscribers:
                if old.session_id == session_id and old.tab == tab and not old.replaced:
                    old.replaced = True
                    with contextlib.suppress(asyncio.QueueFull):
                        old.queue.put_nowait(CLOSE)
        subscriber = Subscriber(flt, session_id, tab)
        self._subscribers.add(subscriber)
        return subscriber

    def streams_of(self, session_id: str, *, tab: str = "") -> int:
        """How many live streams a session has open, not counting the ones a new
        stream of ``tab`` replaces."""
        return sum(
            1
            for s in self._subscribers
            if s.session_id == session_id and not s.replaced and not (tab and s.tab == tab)
        )

    def close_session(self, session_id: str) -> None:
        """End every stream of one session (sign-out)."""
        for subscriber in self._subscribers:
            if subscriber.session_id == session_id:
                subscriber.signed_out = True
                subscriber.overflowed = False
                with contextlib.suppress(asyncio.QueueFull):
                    subscriber.queue.put_nowait(CLOSE)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def alert_changed(self, stored: StoredAlert, *, triage_only: bool = False) -> None:
        """New evidence (sent to matching feeds) or new triage (sent to all, with a match flag).

        A triage change can move an alert into or out of a status filter, so feeds
        that do not match still hear about it and drop the row if they show it.
        """
        if not self._subscribers:
            return
        view = self._view(stored)
        status = self._status_of(stored.alert.alert_id)
        for subscriber in self._subscribers:
            if not subscriber.flt.visible(stored.alert):
                continue  # out of the viewer's scope: not even a triage change is told
            matches = subscriber.flt.matches(stored.alert, status)
            if matches or triage_only:
                subscriber.offer({"alert": view, "matches": matches})

    def close(self) -> None:
        """End every stream (server shutdown)."""
        for subscriber in self._subscribers:
            subscriber.overflowed = False
            try:
                subscriber.queue.put_nowait(CLOSE)
            except asyncio.QueueFull:
                subscriber.overflowed = True

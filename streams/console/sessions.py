"""Server-side sessions: a random id in the cookie, everything else in memory.

Keeping the state on the server means a session can be ended (logout, expiry)
for certain, and the cookie carries nothing worth stealing besides the id.
Sessions are per console process; several instances behind a load balancer
need sticky sessions (triage state, unlike sessions, is shared through Kafka).

A visitor who has not signed in gets an *anonymous* session too, only so the
login form can carry a CSRF token; signing in replaces it with a new id
(no session fixation). Anonymous sessions have their own, separate bound, so
a flood of login-page requests can never push out a signed-in analyst.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class Session:
    """One browser's session. ``user`` is ``None`` until the login succeeds."""

    sid: str
    csrf_token: str
    user: str | None
    created: float
    last_seen: float

    @property
    def authenticated(self) -> bool:
        return self.user is not None


class SessionStore:
    """Sessions with an idle timeout, an absolute lifetime and a size bound.

    >>> now = [0.0]
    >>> store = SessionStore(idle_s=60, max_age_s=300, clock=lambda: now[0])
    >>> s = store.create("ana")
    >>> store.get(s.sid).user
    'ana'
    >>> now[0] = 61.0
    >>> store.get(s.sid) is None
    True
    """

    def __init__(
        self,
        *,
        idle_s: float = 30 * 60,
        max_age_s: float = 12 * 3600,
        anonymous_s: float = 15 * 60,
        max_sessions: int = 10_000,
        max_anonymous: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self.anonymous_s = anonymous_s
        self.max_sessions = max_sessions
        self.max_anonymous = max_anonymous
        self._clock = clock
        # Ordered by last use, so the least recently used session is evicted first.
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._anonymous: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, user: str | None) -> Session:
        """A new session with fresh random id and CSRF token."""
        now = self._clock()
        session = Session(
            sid=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            user=user,
            created=now,
            last_seen=now,
        )
        table, bound = (
            (self._sessions, self.max_sessions) if user else (self._anonymous, self.max_anonymous)
        )
        table[session.sid] = session
        while len(table) > bound:
            table.popitem(last=False)
        return session

    def _expired(self, session: Session, now: float) -> bool:
        if not session.authenticated:
            return now - session.created > self.anonymous_s
        return now - session.last_seen > self.idle_s or now - session.created > self.max_age_s

    def get(self, sid: str | None, *, touch: bool = True) -> Session | None:
        """The live session for ``sid``, or ``None`` when unknown or expired."""
        if not sid:
            return None
        table = self._sessions if sid in self._sessions else self._anonymous
        session = table.get(sid)
        if session is None:
            return None
        now = self._clock()
        if self._expired(session, now):
            del table[sid]
            return None
        if touch:
            session.last_seen = now
            table.move_to_end(sid)
        return session

    def alive(self, session: Session) -> bool:
        """Whether ``session`` is still valid, without counting this as activity."""
        return self.get(session.sid, touch=False) is session

    def drop(self, sid: str) -> None:
        self._sessions.pop(sid, None)
        self._anonymous.pop(sid, None)

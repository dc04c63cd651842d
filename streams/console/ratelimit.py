"""Login throttling: too many failures for one account or one address locks it briefly.

Both keys matter: per account against guessing one person's password from
many addresses, per address against one machine trying many accounts.

The check is atomic. An attempt first *reserves* a slot on both keys, before
the slow password hash runs, and a slot in use counts like a failure; the
outcome then settles it (a failure stays, a success is released). So twenty
parallel guesses with five slots get five verdicts and fifteen refusals,
however long the hashing takes.

>>> now = [0.0]
>>> limiter = LoginRateLimiter(max_failures=2, window_s=60, clock=lambda: now[0])
>>> first = limiter.reserve("ana", "10.0.0.1"); second = limiter.reserve("ana", "10.0.0.2")
>>> isinstance(first, Slot), isinstance(second, Slot)
(True, True)
>>> limiter.reserve("ana", "10.0.0.3")  # both slots are taken while they hash
1.0
>>> first.failed(); second.failed()
>>> limiter.retry_after("ana", "10.0.0.3") > 0
True
>>> now[0] = 61.0
>>> limiter.retry_after("ana", "10.0.0.3")
0.0
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

BUSY_RETRY_S = 1.0
"""Retry-After when every slot is held by an attempt still being checked."""


class Slot:
    """One reserved login attempt; settle it with :meth:`failed` or :meth:`succeeded`."""

    __slots__ = ("_address", "_limiter", "_settled", "_username")

    def __init__(self, limiter: LoginRateLimiter, username: str, address: str) -> None:
        self._limiter = limiter
        self._username = username
        self._address = address
        self._settled = False

    def failed(self) -> None:
        if not self._settled:
            self._settled = True
            self._limiter._release(self._username, self._address)
            self._limiter.failure(self._username, self._address)

    def succeeded(self) -> None:
        if not self._settled:
            self._settled = True
            self._limiter._release(self._username, self._address)
            self._limiter.success(self._username, self._address)

    def cancel(self) -> None:
        """Give the slot back without a verdict (the request was aborted)."""
        if not self._settled:
            self._settled = True
            self._limiter._release(self._username, self._address)


class LoginRateLimiter:
    """Sliding-window failure counts per account and per client address (bounded)."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 300.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._pending: dict[str, int] = {}

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"user:{username.lower()}", f"addr:{address}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] > self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        now = self._clock()
        wait = 0.0
        for key in self._keys(username, address):
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                wait = max(wait, self.window_s - (now - times[0]))
            elif len(times) + self._pending.get(key, 0) >= self.max_failures:
                wait = max(wait, BUSY_RETRY_S)
        return wait

    def reserve(self, username: str, address: str) -> Slot | float:
        """A slot for one attempt, or the seconds to wait when none is free.

        Nothing awaits between the check and the reservation, so on one event
        loop no two attempts can take the last slot.
        """
        wait = self.retry_after(username, address)
        if wait > 0:
            return wait
        for key in self._keys(username, address):
            self._pending[key] = self._pending.get(key, 0) + 1
        return Slot(self, username, address)

    def _release(self, username: str, address: str) -> None:
        for key in self._keys(username, address):
            left = self._pending.get(key, 0) - 1
            if left > 0:
                self._pending[key] = left
            else:
                self._pending.pop(key, None)

    def failure(self, username: str, address: str) -> None:
        now = self._clock()
        for key in self._keys(username, address):
            times = self._failures.setdefault(key, deque(maxlen=self.max_failures))
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def success(self, username: str, address: str) -> None:
        """A correct password clears the account's failures (not the address's)."""
        self._failures.pop(self._keys(username, address)[0], None)

"""Login throttling: too many failures for one account or one address locks it briefly.

Both keys matter: per account against guessing one person's password from
many addresses, per address against one machine trying many accounts.

>>> now = [0.0]
>>> limiter = LoginRateLimiter(max_failures=2, window_s=60, clock=lambda: now[0])
>>> limiter.retry_after("ana", "10.0.0.1")
0.0
>>> limiter.failure("ana", "10.0.0.1"); limiter.failure("ana", "10.0.0.2")
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
        return wait

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

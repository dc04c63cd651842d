"""Requests become uses: a person's requests to one service, grouped by an event-time gap.

One page of a face-search site makes dozens of requests (the page, scripts, images,
the upload, the results). The rule: a request **starts a new use** unless the same
person (agency and user) reached the same service (the catalogue's vendor entry, or
the host when the catalogue does not know it) no more than ``gap`` (default 5
minutes) of event time after the use's last request (or before its first one, for a
record that arrives out of order). The event of a use is made at its first request,
so a live tail reports it at once; later requests of the use are only counted.

State is one entry per open use; entries whose last request is more than ``gap``
behind the newest event time seen are forgotten, and at most ``max_open`` are kept.

>>> uses = UseGrouper(gap_s=300)
>>> [uses.starts_use(("MPD", "u1", "PimEyes"), t) for t in (0, 60, 350, 700, 999)]
[True, False, False, True, False]
"""

from __future__ import annotations

DEFAULT_GAP_S = 300.0
MAX_OPEN = 200_000


class UseGrouper:
    def __init__(self, gap_s: float = DEFAULT_GAP_S, max_open: int = MAX_OPEN) -> None:
        if gap_s < 0:
            raise ValueError("the gap must not be negative")
        self.gap_s = gap_s
        self.max_open = max_open
        self._open: dict[tuple[str, ...], tuple[float, float]] = {}
        self._newest = float("-inf")

    def __len__(self) -> int:
        return len(self._open)

    def starts_use(self, key: tuple[str, ...], ts: float) -> bool:
        """Whether a request of ``key`` at ``ts`` starts a new use (and record it)."""
        self._newest = max(self._newest, ts)
        use = self._open.get(key)
        if use is not None:
            first, last = use
            if first - self.gap_s <= ts <= last + self.gap_s:
                self._open[key] = (min(first, ts), max(last, ts))
                return False
        if len(self._open) >= self.max_open:
            self._forget()
        self._open[key] = (ts, ts)
        return True

    def _forget(self) -> None:
        horizon = self._newest - self.gap_s
        self._open = {k: v for k, v in self._open.items() if v[1] >= horizon}
        if len(self._open) >= self.max_open:  # still full: keep the newer half
            keep = sorted(self._open.items(), key=lambda kv: kv[1][1])[len(self._open) // 2 :]
            self._open = dict(keep)

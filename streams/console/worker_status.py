"""The worker's behaviour-detection state, as its ``/status`` endpoint reports it.

The console runs apart from the worker, so it asks: ``--worker-status URL`` (or
``FRTWATCH_WORKER_STATUS_URL``) names the worker's ``/status`` (``FRTWATCH_METRICS_PORT``
of the worker, see docs/DEPLOY.md). The answer is kept for :data:`MAX_AGE_S`, so pages
that load ``/api/meta`` do not each cause a request. Without a URL, or when the worker
does not answer, the state is ``unknown`` with the reason; the console never guesses.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

MAX_AGE_S = 10.0
TIMEOUT_S = 2.0
STATES = ("scoring", "warmup", "disabled")
_DETAIL_MAX = 300


def _unknown(detail: str) -> dict[str, str]:
    return {"state": "unknown", "detail": detail}


def behavior_of(body: Any) -> dict[str, str]:
    """The ``behavior`` part of a ``/status`` answer, checked (``unknown`` if malformed).

    >>> behavior_of({"behavior": {"state": "warmup", "detail": "none yet"}})
    {'state': 'warmup', 'detail': 'none yet'}
    >>> behavior_of({"ready": True})["state"]
    'unknown'
    """
    behavior = body.get("behavior") if isinstance(body, dict) else None
    if not isinstance(behavior, dict) or behavior.get("state") not in STATES:
        return _unknown("the worker's status names no behaviour state")
    detail = behavior.get("detail")
    return {
        "state": str(behavior["state"]),
        "detail": detail[:_DETAIL_MAX] if isinstance(detail, str) else "",
    }


class WorkerStatus:
    """Reads and caches the worker's behaviour state from ``url`` (None: not configured)."""

    def __init__(self, url: str | None, *, max_age_s: float = MAX_AGE_S) -> None:
        self.url = url or None
        self.max_age_s = max_age_s
        self._value: dict[str, str] | None = None
        self._at = -float("inf")
        self._lock = asyncio.Lock()

    async def behavior(self) -> dict[str, str]:
        """``{"state": "scoring" | "warmup" | "disabled" | "unknown", "detail": ...}``."""
        if self.url is None:
            return _unknown("the console is not given the worker's status URL (--worker-status)")
        async with self._lock:
            if self._value is None or time.monotonic() - self._at > self.max_age_s:
                self._value = await self._fetch(self.url)
                self._at = time.monotonic()
            return self._value

    @staticmethod
    async def _fetch(url: str) -> dict[str, str]:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                if response.status != 200:
                    return _unknown(f"the worker's status at {url} answered {response.status}")
                return behavior_of(await response.json(content_type=None))
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return _unknown(f"the worker's status at {url} does not answer")

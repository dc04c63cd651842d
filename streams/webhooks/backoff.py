"""How long to wait before the next attempt: exponential backoff, jitter, Retry-After.

Jitter spreads the retries of many alerts that failed together (a receiver
outage) so they do not all return in the same instant. "Equal jitter" keeps
at least half of the exponential delay, so a struggling receiver still gets
real breathing room. A receiver's ``Retry-After`` (on 429 and 503) is a
floor, capped so a misconfigured receiver cannot park an alert for days.

>>> import random
>>> s = DeliverySettings(backoff_initial_s=1.0, backoff_max_s=10.0)
>>> [round(backoff_delay(n, s, random.Random(1)), 2) for n in (1, 2, 3, 4, 5)]
[0.57, 1.13, 2.27, 4.54, 5.67]
>>> parse_retry_after("120", now=0.0)
120.0
"""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime

from streams.webhooks.routes import DeliverySettings


def backoff_delay(attempt: int, settings: DeliverySettings, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    exponent = max(0, attempt - 1)
    base = min(
        settings.backoff_max_s,
        settings.backoff_initial_s * settings.backoff_multiplier**exponent,
    )
    return base / 2 + rng.random() * base / 2


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delay-seconds or HTTP-date), or None.

    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
    10.0
    >>> parse_retry_after("soon", now=0.0) is None
    True
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, moment.timestamp() - now)
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds


def next_delay(
    attempt: int,
    settings: DeliverySettings,
    rng: random.Random,
    retry_after: float | None,
) -> float:
    """The wait before the next attempt: backoff, raised to ``Retry-After`` (capped).

    >>> s = DeliverySettings(backoff_initial_s=0.05, retry_after_max_s=30.0)
    >>> next_delay(1, s, random.Random(0), retry_after=2.0)
    2.0
    >>> next_delay(1, s, random.Random(0), retry_after=3600.0)
    30.0
    """
    delay = backoff_delay(attempt, settings, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_after_max_s))
    return delay

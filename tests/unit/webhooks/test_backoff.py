"""Backoff grows exponentially to a cap, with jitter; Retry-After is a capped floor."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from streams.webhooks.backoff import backoff_delay, next_delay, parse_retry_after
from streams.webhooks.routes import DeliverySettings

SETTINGS = DeliverySettings(backoff_initial_s=1.0, backoff_max_s=60.0, backoff_multiplier=2.0)


@given(attempt=st.integers(min_value=1, max_value=60), seed=st.integers())
def test_delay_stays_between_half_and_all_of_the_capped_exponential(attempt, seed):
    base = min(60.0, 2.0 ** (attempt - 1))
    delay = backoff_delay(attempt, SETTINGS, random.Random(seed))
    assert base / 2 <= delay <= base


def test_jitter_spreads_retries_of_alerts_that_failed_together():
    rng = random.Random(7)
    delays = {round(backoff_delay(4, SETTINGS, rng), 6) for _ in range(50)}
    assert len(delays) > 40


def test_retry_after_raises_the_delay_but_is_capped():
    s = DeliverySettings(backoff_initial_s=0.05, retry_after_max_s=5.0)
    rng = random.Random(1)
    assert next_delay(1, s, rng, retry_after=2.0) == 2.0
    assert next_delay(1, s, rng, retry_after=120.0) == 5.0
    assert next_delay(1, s, rng, retry_after=None) <= 0.05
    assert next_delay(1, s, rng, retry_after=0.0) <= 0.05


def test_parse_retry_after_forms():
    assert parse_retry_after("0", now=0.0) == 0.0
    assert parse_retry_after(" 30 ", now=0.0) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 + 10) == 0.0
    assert parse_retry_after("-5", now=0.0) is None
    assert parse_retry_after("nan", now=0.0) is None
    assert parse_retry_after("", now=0.0) is None
    assert parse_retry_after(None, now=0.0) is None

"""Login throttling per account and per address."""

from __future__ import annotations

from streams.console.ratelimit import LoginRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_account_is_locked_after_failures_from_anywhere() -> None:
    clock = Clock()
    limiter = LoginRateLimiter(max_failures=3, window_s=100, clock=clock)
    for i in range(3):
        assert limiter.retry_after("Ana", f"10.0.0.{i}") == 0
        limiter.failure("Ana", f"10.0.0.{i}")
    assert limiter.retry_after("ana", "10.9.9.9") == 100
    clock.now = 60
    assert limiter.retry_after("ana", "10.9.9.9") == 40
    clock.now = 101
    assert limiter.retry_after("ana", "10.9.9.9") == 0


def test_address_is_locked_after_failures_on_many_accounts() -> None:
    limiter = LoginRateLimiter(max_failures=3, window_s=100, clock=Clock())
    for name in ("a", "b", "c"):
        limiter.failure(name, "10.0.0.1")
    assert limiter.retry_after("d", "10.0.0.1") > 0
    assert limiter.retry_after("d", "10.0.0.2") == 0


def test_success_clears_the_account_but_not_the_address() -> None:
    limiter = LoginRateLimiter(max_failures=2, window_s=100, clock=Clock())
    limiter.failure("ana", "10.0.0.1")
    limiter.failure("bo", "10.0.0.1")
    limiter.success("ana", "10.0.0.1")
    assert limiter.retry_after("ana", "10.0.0.2") == 0
    assert limiter.retry_after("ana", "10.0.0.1") > 0


def test_memory_is_bounded() -> None:
    limiter = LoginRateLimiter(max_keys=10, clock=Clock())
    for i in range(100):
        limiter.failure(f"user{i}", f"10.0.{i}.1")
    assert len(limiter._failures) <= 10

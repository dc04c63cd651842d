"""Login throttling per account and per address."""

from __future__ import annotations

from streams.console.ratelimit import BUSY_RETRY_S, LoginRateLimiter, Slot


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


def test_slots_in_use_count_until_they_are_settled() -> None:
    now = [0.0]
    limiter = LoginRateLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    slots = [limiter.reserve("ana", f"10.0.0.{i}") for i in range(3)]
    assert all(isinstance(s, Slot) for s in slots)
    assert limiter.reserve("ana", "10.0.0.9") == BUSY_RETRY_S  # all three are being checked
    assert limiter.reserve("bo", "10.0.0.9") != BUSY_RETRY_S  # another account, another address
    slots[0].succeeded()  # a right password frees its slot and clears the account
    slots[1].cancel()
    late = limiter.reserve("ana", "10.0.0.8")
    assert isinstance(late, Slot)
    slots[2].failed()
    slots[2].failed()  # settling twice counts once
    assert limiter.retry_after("ana", "10.0.0.7") == 0  # one failure, one attempt pending
    third = limiter.reserve("ana", "10.0.0.6")
    assert isinstance(third, Slot)
    late.failed()
    third.failed()
    assert limiter.retry_after("ana", "10.0.0.5") == 60  # three failures: locked for the window

"""The rate limiter spaces requests evenly across threads; no rate means no waiting."""

from __future__ import annotations

import pytest

from twin_core.llm.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(round(s, 6))
        self.now += s


def test_requests_are_spaced_one_interval_apart() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(4)]
    assert [round(w, 6) for w in waits] == [0.0, 0.25, 0.25, 0.25]
    clock.now += 10
    assert limiter.acquire() == 0.0


def test_no_rate_never_waits_and_bad_rates_fail() -> None:
    limiter = RateLimiter(None, sleep=lambda s: pytest.fail("slept"))
    assert [limiter.acquire() for _ in range(100)] == [0.0] * 100
    with pytest.raises(ValueError, match="rate must be > 0"):
        RateLimiter(0)

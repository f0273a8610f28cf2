"""Retry backoff and per-host pacing, checked against numbers worked out by hand."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime

import pytest

from twin_core.crawl.pacing import HostGate, backoff_delay, parse_retry_after


def test_backoff_doubles_from_the_base() -> None:
    assert [backoff_delay(a, 0.5) for a in range(4)] == [0.5, 1.0, 2.0, 4.0]


def test_backoff_is_capped_and_retry_after_wins() -> None:
    assert backoff_delay(10, 0.5, cap=30.0) == 30.0
    assert backoff_delay(0, 0.5, retry_after=7.0) == 7.0
    assert backoff_delay(0, 0.5, retry_after=120.0, cap=30.0) == 30.0


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), (" 12 ", 12.0), ("", None), (None, None), ("soon", None)])
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0


def test_host_gate_spaces_request_starts() -> None:
    async def go() -> list[float]:
        gate, starts = HostGate(concurrency=4, interval=0.05), []
        t0 = time.perf_counter()

        async def one() -> None:
            await gate.wait_turn()
            starts.append(time.perf_counter() - t0)

        await asyncio.gather(*(one() for _ in range(4)))
        return sorted(starts)

    starts = asyncio.run(go())
    assert starts[0] < 0.03
    assert all(b - a >= 0.04 for a, b in itertools.pairwise(starts))
    assert starts[-1] >= 0.14

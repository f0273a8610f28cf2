"""Pacing of requests: retry backoff, Retry-After, and per-host concurrency and spacing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_S = 30.0


def backoff_delay(attempt: int, base: float, retry_after: float | None = None, cap: float = MAX_RETRY_AFTER_S) -> float:
    """Seconds to wait before retry ``attempt + 1``: the server's Retry-After if given, else base * 2**attempt."""
    delay = retry_after if retry_after is not None else base * (2**attempt)
    return max(0.0, min(cap, delay))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HostGate:
    """Per-host concurrency (``slots``) and a minimum interval between request starts (the rate limit)."""

    def __init__(self, concurrency: int, interval: float) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.interval = interval
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        """Sleep until this host may receive the next request; each caller books the following slot."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)

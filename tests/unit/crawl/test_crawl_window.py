"""The crawl window: half-open, timezone-safe, undated documents kept, bad order rejected by validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from twin_core.config.errors import ConfigError
from twin_core.config.loader import validate_config
from twin_core.crawl.settings import CrawlSettings


def test_window_is_half_open_and_keeps_undated() -> None:
    s = CrawlSettings(window_start=datetime(2026, 1, 4), window_end=datetime(2026, 1, 11))
    assert s.window_start == datetime(2026, 1, 4, tzinfo=UTC)
    assert s.in_window(datetime(2026, 1, 4, tzinfo=UTC))
    assert not s.in_window(datetime(2026, 1, 11, tzinfo=UTC))
    assert s.in_window(datetime(2026, 1, 10, 23, 59))  # naive = UTC
    assert not s.in_window(datetime(2026, 1, 11, 0, 30, tzinfo=timezone(timedelta(hours=1))) + timedelta(hours=1))
    assert s.in_window(None)
    assert CrawlSettings().in_window(datetime(1999, 1, 1, tzinfo=UTC))


def test_window_order_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"window_start .* must be before window_end"):
        validate_config(["crawl.window_start=2026-02-01T00:00:00", "crawl.window_end=2026-01-01T00:00:00"])

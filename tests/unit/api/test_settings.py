"""API settings refuse to serve the twin to the network without keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from twin_core.config.errors import ConfigError


def test_auth_off_is_only_allowed_on_loopback(make_settings: Callable[..., Any]) -> None:
    assert make_settings("api.auth.enabled=false").api.host == "127.0.0.1"
    with pytest.raises(ConfigError, match=r"api.auth.enabled=false with api.host='0.0.0.0'"):
        make_settings("api.auth.enabled=false", "api.host=0.0.0.0")
    assert make_settings("api.host=0.0.0.0").api.auth.enabled  # keys on: any host

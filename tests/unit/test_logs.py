"""The key=value log formatter hides secrets (by key name, and credentials inside URIs) but not counts."""

from __future__ import annotations

import logging

from twin_core.logs import KeyValueFormatter, mask


def _format(**extra: object) -> str:
    record = logging.LogRecord("twin.test", logging.INFO, __file__, 1, "event", (), None)
    record.__dict__.update(extra)
    return KeyValueFormatter().format(record)


def test_secret_keys_are_masked_but_token_counts_are_not() -> None:
    line = _format(api_key="sk-123", access_token="abc", n_prompt_tokens=732, password="hunter2")
    assert "api_key=***" in line and "access_token=***" in line and "password=***" in line
    assert "sk-123" not in line and "abc" not in line and "hunter2" not in line
    assert "n_prompt_tokens=732" in line


def test_credentials_in_uris_are_masked() -> None:
    assert mask("mongodb://twin:s3cret@db:27017/twin") == "mongodb://twin:***@db:27017/twin"
    assert "s3cret" not in _format(uri="mongodb://twin:s3cret@db:27017")

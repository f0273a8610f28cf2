"""Structured logging: ``ts level logger event key=value ...`` on stderr, with secrets masked."""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import UTC, datetime

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_SECRET_KEY = re.compile(r"(key|token|secret|password|passwd|credential)", re.I)
_URI_CREDS = re.compile(r"(\w+://)([^/@\s:]+):([^/@\s]+)@")


def mask(text: str) -> str:
    """Hide credentials embedded in URIs (``scheme://user:pass@host`` -> ``scheme://user:***@host``)."""
    return _URI_CREDS.sub(r"\1\2:***@", text)


class KeyValueFormatter(logging.Formatter):
    """One line per event: the message, then the record's extra fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        extras = []
        for k, v in record.__dict__.items():
            if k in _RESERVED or k.startswith("_"):
                continue
            secret = _SECRET_KEY.search(k) and not isinstance(v, int | float)  # counts like n_prompt_tokens stay
            value = "***" if secret else mask(str(v))
            extras.append(f"{k}={value!r}" if " " in value else f"{k}={value}")
        line = f"{ts} {record.levelname:<5} {record.name} {mask(record.getMessage())}"
        if extras:
            line += " " + " ".join(extras)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str | None = None) -> None:
    """Install the key=value formatter on the ``twin`` logger (idempotent); level from ``$TWIN_LOG_LEVEL``."""
    logger = logging.getLogger("twin")
    logger.setLevel((level or os.environ.get("TWIN_LOG_LEVEL", "INFO")).upper())
    if not any(getattr(h, "_twin", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(KeyValueFormatter())
        handler._twin = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False

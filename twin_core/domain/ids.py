"""Stable identifiers and content hashes: the same input always yields the same id, so writes are idempotent."""

from __future__ import annotations

import hashlib
import json
import unicodedata
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_NAMESPACE = uuid.UUID("6f1c2a8e-4b7d-5e39-9a0c-2d8f4e61b7a3")


def stable_id(kind: str, *parts: str) -> str:
    """A UUIDv5 over a kind and identity parts (never random)."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((kind, *parts))))


def content_hash(content: Any) -> str:
    """SHA-256 of a canonical JSON form of ``content`` (key order and spacing do not matter)."""
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def normalize_link(link: str) -> str:
    """Canonical form of a link for identity: lower-case scheme and host, no fragment, no trailing slash."""
    if "://" not in link:
        return link.rstrip("/") or link
    parts = urlsplit(link.strip())
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def normalize_name(name: str) -> str:
    """Canonical form of a person's name for identity: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())

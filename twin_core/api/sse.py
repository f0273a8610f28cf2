"""Server-sent events: the framing of the streamed answers."""

from __future__ import annotations

import json
from typing import Any

DONE = b"data: [DONE]\n\n"


def event(data: Any, name: str | None = None) -> bytes:
    """One SSE event (``event:`` line when named); ``data`` as compact JSON on one line."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return (head + "".join(f"data: {line}\n" for line in payload.split("\n")) + "\n").encode()


def parse(text: str) -> list[tuple[str, str]]:
    """(event name or "message", data) of every event in ``text`` (for clients and tests)."""
    out: list[tuple[str, str]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            out.append((name, "\n".join(data)))
    return out

"""robots.txt per origin (RFC 9309): fetched once per run, then every URL of that origin is checked against it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309: crawlers must parse at least 500 KiB

# (status, text) of GET /robots.txt; status 0 means the server could not be reached.
RobotsFetch = Callable[[str], Awaitable[tuple[int, str]]]


@dataclass(frozen=True)
class RobotsRules:
    """The rules of one origin; ``parser`` is None when everything is allowed or everything refused."""

    parser: RobotFileParser | None
    allow_all: bool = False
    why: str = ""

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float:
        """The ``Crawl-delay`` that applies to ``user_agent`` in seconds, 0 when none."""
        if self.parser is None:
            return 0.0
        try:
            return float(self.parser.crawl_delay(user_agent) or 0)
        except (TypeError, ValueError):
            return 0.0


def parse_robots(text: str) -> RobotsRules:
    """Rules from the text of a robots.txt (only its first 500 KiB count)."""
    parser = RobotFileParser()
    parser.parse(text[:MAX_ROBOTS_BYTES].splitlines())
    return RobotsRules(parser)


def rules_for_status(status: int, text: str) -> RobotsRules:
    """RFC 9309: 2xx parse; 4xx means no rules (allow); 5xx or unreachable means refuse everything for now."""
    if 200 <= status < 300:
        return parse_robots(text)
    if 400 <= status < 500:
        return RobotsRules(None, allow_all=True, why=f"robots.txt HTTP {status}: no rules")
    why = "robots.txt unreachable" if status == 0 else f"robots.txt HTTP {status}"
    return RobotsRules(None, allow_all=False, why=f"{why}: the site is treated as disallowed")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased: robots.txt applies per origin."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class RobotsCache:
    """One robots.txt fetch per origin (concurrent askers share it); rules kept for the cache's lifetime."""

    def __init__(self, fetch: RobotsFetch) -> None:
        self._fetch = fetch
        self._tasks: dict[str, asyncio.Task[RobotsRules]] = {}

    async def rules(self, url: str) -> RobotsRules:
        origin = origin_of(url)
        task = self._tasks.get(origin)
        if task is None:
            task = self._tasks[origin] = asyncio.ensure_future(self._load(origin))
        return await asyncio.shield(task)

    async def allowed(self, url: str, user_agent: str) -> bool:
        return (await self.rules(url)).allowed(url, user_agent)

    async def _load(self, origin: str) -> RobotsRules:
        status, text = await self._fetch(f"{origin}/robots.txt")
        return rules_for_status(status, text)

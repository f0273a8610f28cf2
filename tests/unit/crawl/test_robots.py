"""robots.txt rules (RFC 9309): groups by user agent, Crawl-delay, and what a missing or failing file means."""

from __future__ import annotations

import asyncio

from twin_core.crawl.robots import RobotsCache, origin_of, parse_robots, rules_for_status

UA = "LLMTwinBot/0.1 (+https://github.com/llm-twin)"
ROBOTS = """
User-agent: *
Disallow: /private/

User-agent: LLMTwinBot
Disallow: /drafts/
Crawl-delay: 2
"""


def test_group_for_our_agent_applies_and_others_do_not() -> None:
    rules = parse_robots(ROBOTS)
    assert not rules.allowed("http://h/drafts/x.html", UA)
    assert rules.allowed("http://h/private/x.html", UA)  # our own group replaces the * group
    assert not rules.allowed("http://h/private/x.html", "OtherBot/1.0")
    assert rules.allowed("http://h/blog/post.html", UA)
    assert rules.crawl_delay(UA) == 2.0
    assert rules.crawl_delay("OtherBot/1.0") == 0.0


def test_missing_robots_allows_everything_and_server_error_refuses_everything() -> None:
    assert rules_for_status(404, "").allowed("http://h/anything", UA)
    assert rules_for_status(403, "").allowed("http://h/anything", UA)
    assert not rules_for_status(503, "").allowed("http://h/anything", UA)
    unreachable = rules_for_status(0, "")
    assert not unreachable.allowed("http://h/", UA) and "unreachable" in unreachable.why


def test_origin_includes_scheme_and_port() -> None:
    assert origin_of("HTTPS://Example.com:8443/a/b?c") == "https://example.com:8443"


def test_cache_fetches_once_per_origin_for_concurrent_askers() -> None:
    calls: list[str] = []

    async def fetch(url: str) -> tuple[int, str]:
        calls.append(url)
        await asyncio.sleep(0.01)
        return 200, "User-agent: *\nDisallow: /private/\n"

    async def go() -> list[bool]:
        cache = RobotsCache(fetch)
        urls = ["http://h/a", "http://h/private/b", "http://h/c", "http://other/private/d"]
        return list(await asyncio.gather(*(cache.allowed(u, UA) for u in urls)))

    assert asyncio.run(go()) == [True, False, True, False]
    assert sorted(calls) == ["http://h/robots.txt", "http://other/robots.txt"]

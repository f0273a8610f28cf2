"""Network guard: malformed URLs and non-public addresses are refused before any connection is opened."""

from __future__ import annotations

import asyncio
import ipaddress

import httpcore
import pytest

from twin_core.crawl.fetcher import FetchError, SafeFetcher
from twin_core.crawl.netguard import BlockedAddress, GuardedBackend, is_public, parse_url
from twin_core.crawl.settings import CrawlSettings


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records every connection attempt and refuses it: a test fails if anything tries to connect."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append((host, port))
        raise httpcore.ConnectError("recording backend never connects")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),  # cloud metadata endpoint: link-local
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),  # IPv4-mapped private address
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://example.com/x", "unsupported URL scheme 'ftp'"),
        ("file:///etc/passwd", "unsupported URL scheme 'file'"),
        ("http://exa mple.com/", "malformed URL"),
        ("http://[::1/", "malformed URL"),
        ("http:///path-only", "malformed URL"),
        ("example.com/no-scheme", "unsupported URL scheme"),
        ("", "malformed URL"),
    ],
)
def test_parse_url_refuses(url: str, needle: str) -> None:
    with pytest.raises(BlockedAddress, match=needle):
        parse_url(url)


def test_parse_url_accepts_http_and_https() -> None:
    assert parse_url("https://example.com:8443/a?b=1").port == 8443
    assert parse_url("http://127.0.0.1/").host == "127.0.0.1"


def test_backend_refuses_private_address_without_connecting() -> None:
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=False, inner=inner)
    with pytest.raises(BlockedAddress, match=r"non-public address 10\.0\.0\.1"):
        asyncio.run(backend.connect_tcp("10.0.0.1", 80))
    assert inner.connects == []


def test_backend_connects_to_the_checked_address_when_allowed() -> None:
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=True, inner=inner)
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(backend.connect_tcp("10.0.0.1", 8080))
    assert inner.connects == [("10.0.0.1", 8080)]


def test_fetcher_refuses_private_link_and_sends_nothing() -> None:
    inner = RecordingBackend()

    async def go() -> None:
        async with SafeFetcher(CrawlSettings(retries=0), backend=inner) as fetcher:
            with pytest.raises(FetchError, match=r"refused: 10\.0\.0\.1 resolves to non-public address"):
                await fetcher.fetch("http://10.0.0.1/admin")
            with pytest.raises(FetchError, match="unsupported URL scheme"):
                await fetcher.fetch("gopher://example.com/")
            assert fetcher.requests == 0

    asyncio.run(go())
    assert inner.connects == []

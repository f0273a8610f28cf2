"""Network guard: only well-formed http(s) URLs, and only public addresses unless private networks are allowed.

The check runs where the socket is opened (``GuardedBackend``), on the addresses it then connects to, so every
redirect hop is covered and a name cannot resolve to one address for the check and another for the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(Exception):
    """A URL was refused before any connection was made; ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def parse_url(url: str) -> httpx.URL:
    """An absolute http(s) URL with a host, or BlockedAddress naming what is wrong with it."""
    if not isinstance(url, str) or not url or any(c.isspace() or ord(c) < 32 for c in url):
        raise BlockedAddress(f"malformed URL {url!r}")
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise BlockedAddress(f"malformed URL {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise BlockedAddress(f"unsupported URL scheme {parsed.scheme or '(none)'!r} in {url!r} (http and https only)")
    if not parsed.host:
        raise BlockedAddress(f"malformed URL {url!r}: no host")
    if port is not None and not 0 < port < 65536:
        raise BlockedAddress(f"malformed URL {url!r}: port {port} out of range")
    return parsed


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses (not private, loopback, link-local, reserved, multicast)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself, without DNS)."""
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%")[0])]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, IPAddress] = {}
    for *_, sockaddr in infos:
        text = str(sockaddr[0]).split("%")[0]
        seen.setdefault(text, ipaddress.ip_address(text))
    return list(seen.values())


def refuse_private(host: str, addresses: Iterable[IPAddress], allow_private: bool) -> None:
    """Raise BlockedAddress when any address is not public and private networks are not allowed."""
    if allow_private:
        return
    for address in addresses:
        if not is_public(address):
            raise BlockedAddress(
                f"refused: {host} resolves to non-public address {address} "
                "(set crawl.allow_private_networks=true to allow)"
            )


async def check_host(host: str, port: int, allow_private: bool) -> list[IPAddress]:
    """Resolve ``host`` and refuse it when it has a non-public address (and those are not allowed)."""
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise BlockedAddress(f"cannot resolve host {host!r}: {exc.strerror or exc}") from None
    refuse_private(host, addresses, allow_private)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves, checks, then connects to the checked address itself."""

    def __init__(self, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allow_private = allow_private
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await check_host(host, port, self.allow_private)
        except BlockedAddress as exc:
            if exc.reason.startswith("cannot resolve"):
                raise httpcore.ConnectError(exc.reason) from None
            raise
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise BlockedAddress("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport whose every connection goes through GuardedBackend; ignores proxy settings."""

    def __init__(self, allow_private: bool, limits: httpx.Limits, backend: httpcore.AsyncNetworkBackend | None = None):
        super().__init__(limits=limits, trust_env=False)
        # httpx has no public hook for the network backend: rebuild its pool (httpx 0.28 keeps it in ``_pool``).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_private, backend),
        )

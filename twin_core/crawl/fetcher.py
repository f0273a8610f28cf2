"""SafeFetcher: polite, bounded, guarded HTTP GET for crawlers and for links users paste into the RAG API.

Every request: URL and address checks (netguard), robots.txt, per-host concurrency and rate, global concurrency,
retries with exponential backoff, timeouts, a body-size cap, a content-type allow-list and charset decoding.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpcore
import httpx

from twin_core.crawl.base import CrawlFailure
from twin_core.crawl.content import ACCEPT, accepted, decode_body, is_text_type, media_type, sniff_media_type
from twin_core.crawl.netguard import BlockedAddress, GuardedTransport, check_host, parse_url
from twin_core.crawl.pacing import HostGate, backoff_delay, parse_retry_after
from twin_core.crawl.robots import MAX_ROBOTS_BYTES, RobotsCache
from twin_core.crawl.settings import CrawlSettings

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
ERROR_BODY_BYTES = 256 * 1024  # enough of an error page to recognise a bot wall


class FetchError(CrawlFailure):
    """A fetch failed for good; ``status``, ``headers`` and ``text`` hold the final response, when there was one."""

    def __init__(self, reason: str, *, url: str = "", status: int | None = None, headers: Any = None, text: str = ""):
        super().__init__(reason)
        self.url, self.status, self.text = url, status, text
        self.headers: dict[str, str] = dict(headers or {})


@dataclass
class FetchResult:
    """A final response: text for text-like content types, bytes otherwise; ``not_modified`` after a 304."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    content: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    content_type: str = ""
    encoding: str | None = None

    @property
    def body_hash(self) -> str:
        """SHA-256 of the raw body ("" after a 304)."""
        return hashlib.sha256(self.content).hexdigest() if self.content is not None else ""


@dataclass
class _Raw:
    status: int
    headers: httpx.Headers
    body: bytes
    phrase: str


class SafeFetcher:
    """Async GET with every safety and manners rule of ``CrawlSettings``; use ``async with``."""

    def __init__(self, settings: CrawlSettings, *, backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.settings = settings
        limits = httpx.Limits(max_connections=settings.concurrency * 2, max_keepalive_connections=settings.concurrency)
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(settings.allow_private_networks, limits, backend),
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent},
        )
        self._global = asyncio.Semaphore(settings.concurrency)
        self._gates: dict[str, HostGate] = {}
        self.robots = RobotsCache(self._fetch_robots)
        self.requests = 0  # attempts sent, for reports and benchmarks

    async def __aenter__(self) -> SafeFetcher:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        accept: Sequence[str] = ("html",),
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET ``url``; with ``etag`` / ``last_modified`` it is conditional and a 304 gives ``not_modified``."""
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        return await self._fetch(url, accept, conditional, robots=self.settings.respect_robots)

    async def check(self, url: str) -> None:
        """Raise FetchError if ``url`` may not be fetched (malformed, private address, robots.txt); sends no GET."""
        current = self._parse(url)
        await self._guard(current, url)
        if self.settings.respect_robots and not await self.robots.allowed(str(current), self.settings.user_agent):
            raise FetchError(f"disallowed by robots.txt: {current}", url=url)

    def _parse(self, url: str) -> httpx.URL:
        try:
            return parse_url(url)
        except BlockedAddress as exc:
            raise FetchError(exc.reason, url=url) from None

    async def _guard(self, current: httpx.URL, url: str) -> None:
        try:
            await check_host(
                current.host,
                current.port or (443 if current.scheme == "https" else 80),
                self.settings.allow_private_networks,
            )
        except BlockedAddress as exc:
            raise FetchError(exc.reason, url=url) from None

    async def _fetch(
        self, url: str, accept: Sequence[str], conditional: dict[str, str], *, robots: bool, limit: int | None = None
    ) -> FetchResult:
        s = self.settings
        current = self._parse(url)
        types = ", ".join(t for kind in accept for t in ACCEPT.get(kind, (kind,)))
        for _hop in range(s.max_redirects + 1):
            await self._guard(current, url)
            if robots:
                rules = await self.robots.rules(str(current))
                self._gate(current).interval = max(1.0 / s.per_host_rate, min(rules.crawl_delay(s.user_agent), 60.0))
                if not rules.allowed(str(current), s.user_agent):
                    raise FetchError(
                        f"disallowed by robots.txt: {current}" + (f" ({rules.why})" if rules.why else ""), url=url
                    )
            headers = {"Accept": f"{types}, */*;q=0.1", **conditional}
            raw = await self._send(current, headers, accept, url, limit)
            location = raw.headers.get("location")
            if raw.status in REDIRECT_STATUS and location:
                try:
                    current = self._parse(str(current.join(location)))
                except httpx.InvalidURL as exc:
                    raise FetchError(
                        f"HTTP {raw.status} to a malformed Location {location!r}: {exc}", url=url
                    ) from None
                continue
            return self._result(url, current, raw, accept)
        raise FetchError(f"more than {s.max_redirects} redirects", url=url)

    def _result(self, url: str, final: httpx.URL, raw: _Raw, accept: Sequence[str]) -> FetchResult:
        common = {
            "url": url,
            "final_url": str(final),
            "status": raw.status,
            "headers": dict(raw.headers),
            "etag": raw.headers.get("etag"),
            "last_modified": raw.headers.get("last-modified"),
        }
        if raw.status == 304:
            return FetchResult(**common, not_modified=True)
        ctype = raw.headers.get("content-type", "")
        if raw.status >= 400 or raw.status < 200 or raw.status in REDIRECT_STATUS:
            text = decode_body(raw.body, ctype)[0] if raw.body else ""
            raise FetchError(
                f"HTTP {raw.status} {raw.phrase}".strip(), url=url, status=raw.status, headers=raw.headers, text=text
            )
        mime = media_type(ctype) or sniff_media_type(raw.body)
        if not accepted(mime, accept):
            raise FetchError(
                f"content type {mime} not accepted (wanted {', '.join(accept)})",
                url=url,
                status=raw.status,
                headers=raw.headers,
            )
        if is_text_type(mime):
            text, encoding = decode_body(raw.body, ctype)
            return FetchResult(**common, text=text, content=raw.body, content_type=mime, encoding=encoding)
        return FetchResult(**common, content=raw.body, content_type=mime)

    def _gate(self, url: httpx.URL) -> HostGate:
        key = url.netloc.decode("ascii").lower()
        if key not in self._gates:
            s = self.settings
            self._gates[key] = HostGate(s.per_host_concurrency, 1.0 / s.per_host_rate)
        return self._gates[key]

    async def _send(
        self, url: httpx.URL, headers: dict[str, str], accept: Sequence[str], original: str, limit: int | None
    ) -> _Raw:
        """One request with retries on 5xx, 429, timeouts and connection errors; 4xx and guards are final."""
        s, gate = self.settings, self._gate(url)
        problem = ""
        for attempt in range(s.retries + 1):
            retry_after: float | None = None
            try:
                async with gate.slots:
                    await gate.wait_turn()
                    async with self._global, asyncio.timeout(s.deadline_s):
                        raw = await self._attempt(url, headers, accept, original, limit, final=attempt == s.retries)
                if raw.status not in RETRY_STATUS or attempt == s.retries:
                    return raw
                problem = f"HTTP {raw.status} {raw.phrase}".strip()
                retry_after = parse_retry_after(raw.headers.get("retry-after"))
            except httpx.TimeoutException:
                problem = f"timeout after {s.timeout_s:g} s"
            except TimeoutError:
                problem = f"no complete response within deadline_s={s.deadline_s:g}"
            except httpx.TransportError as exc:
                problem = f"connection failed: {type(exc).__name__}: {exc}".rstrip(": ")
            except BlockedAddress as exc:
                raise FetchError(exc.reason, url=original) from None
            except httpx.HTTPError as exc:  # undecodable body, protocol misuse: not worth a retry
                raise FetchError(f"{type(exc).__name__}: {exc}", url=original) from None
            if attempt == s.retries:
                break
            delay = backoff_delay(attempt, s.backoff_s, retry_after)
            await asyncio.sleep(delay * random.uniform(1.0, 1.25))
        tries = s.retries + 1
        raise FetchError(f"{problem} ({tries} attempt{'s' if tries > 1 else ''})", url=original)

    async def _attempt(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        accept: Sequence[str],
        original: str,
        limit: int | None,
        final: bool,
    ) -> _Raw:
        self.requests += 1
        async with self._client.stream("GET", url, headers=headers) as resp:
            status = resp.status_code
            if status in RETRY_STATUS and not final:
                return _Raw(status, resp.headers, b"", resp.reason_phrase)
            if 200 <= status < 300:
                mime = media_type(resp.headers.get("content-type"))
                if mime and not accepted(mime, accept):
                    raise FetchError(
                        f"content type {mime} not accepted (wanted {', '.join(accept)})",
                        url=original,
                        status=status,
                        headers=resp.headers,
                    )
                cap = limit or self.settings.max_body_bytes
                body = await self._read(resp, cap, original, truncate=limit is not None)
            elif status in REDIRECT_STATUS or status == 304:
                body = b""
            else:
                body = await self._read(resp, ERROR_BODY_BYTES, original, truncate=True)
            return _Raw(status, resp.headers, body, resp.reason_phrase)

    async def _read(self, resp: httpx.Response, limit: int, url: str, *, truncate: bool) -> bytes:
        """The body, at most ``limit`` bytes (decompressed): longer bodies are cut (truncate) or refused."""
        declared = resp.headers.get("content-length", "")
        if not truncate and declared.isdigit() and int(declared) > limit:
            raise FetchError(
                f"body too large: Content-Length {declared} > max_body_bytes {limit}",
                url=url,
                status=resp.status_code,
                headers=resp.headers,
            )
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > limit:
                if truncate:
                    chunks.append(chunk[: len(chunk) - (size - limit)])
                    break
                raise FetchError(
                    f"body too large: more than max_body_bytes {limit}",
                    url=url,
                    status=resp.status_code,
                    headers=resp.headers,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def _fetch_robots(self, url: str) -> tuple[int, str]:
        try:
            result = await self._fetch(url, ("*",), {}, robots=False, limit=MAX_ROBOTS_BYTES)
        except FetchError as exc:
            return exc.status or 0, ""
        text = result.text if result.text is not None else (result.content or b"").decode("utf-8", "replace")
        return result.status, text

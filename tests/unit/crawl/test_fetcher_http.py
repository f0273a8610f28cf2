"""SafeFetcher over scripted HTTP responses (no sockets): body cap without Content-Length, redirects to private
addresses, content types. The scripted server sits behind the real network guard on a public IP literal."""

from __future__ import annotations

import asyncio

import httpcore
import pytest

from twin_core.crawl.fetcher import FetchError, FetchResult, SafeFetcher
from twin_core.crawl.settings import CrawlSettings


class ScriptedBackend(httpcore.AsyncNetworkBackend):
    """Each connection replays the next scripted response; records where it was asked to connect."""

    def __init__(self, *responses: list[bytes]) -> None:
        self.responses, self.connects = list(responses), []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append(host)
        return httpcore.AsyncMockStream(self.responses.pop(0))


def chunked(*chunks: bytes, ctype: bytes = b"text/html") -> list[bytes]:
    head = [b"HTTP/1.1 200 OK\r\n", b"Content-Type: " + ctype + b"\r\n", b"Transfer-Encoding: chunked\r\n", b"\r\n"]
    return head + [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks] + [b"0\r\n\r\n"]


def fetch(backend: ScriptedBackend, url: str, **settings: object) -> FetchResult:
    async def go() -> FetchResult:
        s = CrawlSettings(**{"respect_robots": False, "retries": 0, **settings})
        async with SafeFetcher(s, backend=backend) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go())


def test_streamed_body_is_cut_off_past_the_cap() -> None:
    backend = ScriptedBackend(chunked(b"<p>" + b"x" * 400, b"y" * 400, b"z" * 400))
    with pytest.raises(FetchError, match="body too large: more than max_body_bytes 1000"):
        fetch(backend, "http://8.8.8.8/big", max_body_bytes=1000)


def test_streamed_body_under_the_cap_is_read_whole() -> None:
    backend = ScriptedBackend(chunked(b"<p>caf\xc3\xa9", b"</p>"))
    result = fetch(backend, "http://8.8.8.8/ok", max_body_bytes=1000)
    assert result.text == "<p>café</p>" and result.encoding == "utf-8" and result.final_url == "http://8.8.8.8/ok"


def test_redirect_to_a_private_address_is_refused_before_connecting() -> None:
    redirect = [b"HTTP/1.1 302 Found\r\n", b"Location: http://10.1.2.3/admin\r\n", b"Content-Length: 0\r\n", b"\r\n"]
    backend = ScriptedBackend(redirect)
    with pytest.raises(FetchError, match=r"non-public address 10\.1\.2\.3"):
        fetch(backend, "http://8.8.8.8/go")
    assert backend.connects == ["8.8.8.8"]


def test_4xx_is_final_and_keeps_the_error_page() -> None:
    body = b"<title>Just a moment...</title>"
    resp = [b"HTTP/1.1 403 Forbidden\r\n", b"Content-Length: %d\r\n" % len(body), b"\r\n", body]
    backend = ScriptedBackend(resp, resp)
    with pytest.raises(FetchError) as err:
        fetch(backend, "http://8.8.8.8/wall", retries=2)
    assert (err.value.status, err.value.reason, err.value.text) == (403, "HTTP 403 Forbidden", body.decode())
    assert len(backend.connects) == 1


def test_undeclared_binary_is_refused() -> None:
    resp = [b"HTTP/1.1 200 OK\r\n", b"Content-Length: 4\r\n", b"\r\n", b"PK\x03\x04"]
    with pytest.raises(FetchError, match="content type application/octet-stream not accepted"):
        fetch(ScriptedBackend(resp), "http://8.8.8.8/file")

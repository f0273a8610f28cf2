"""SafeFetcher against the real fixture site on 127.0.0.1: every bad input of the crawl stage, and manners."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from twin_core.crawl.fetcher import FetchError, FetchResult, SafeFetcher
from twin_core.crawl.settings import CrawlSettings
from twin_core.demo import fixture_faults as faults
from twin_core.demo.fixture_site import FixtureSite

pytestmark = pytest.mark.integration

FAST = CrawlSettings(allow_private_networks=True, retries=2, backoff_s=0.05, per_host_rate=500.0, timeout_s=5.0)


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with FixtureSite() as s:
        yield s


def get(url: str, settings: CrawlSettings = FAST, **kwargs: object) -> FetchResult:
    async def go() -> FetchResult:
        async with SafeFetcher(settings) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


def test_404_fails_at_once_without_retry(site: FixtureSite) -> None:
    with pytest.raises(FetchError, match="HTTP 404 Not Found") as err:
        get(site.url + "/faults/404")
    assert err.value.status == 404 and site.hits["/faults/404"] == 1


def test_500_then_success_is_retried(site: FixtureSite) -> None:
    site.reset_faults()
    result = get(site.url + "/faults/flaky")
    assert result.status == 200 and faults.FLAKY_TEXT in (result.text or "")
    assert site.hits["/faults/flaky"] == 2


def test_timeout_gives_up_quickly(site: FixtureSite) -> None:
    settings = FAST.model_copy(update={"timeout_s": 1.0, "retries": 0})
    t0 = time.perf_counter()
    with pytest.raises(FetchError, match=r"timeout after 1 s \(1 attempt\)"):
        get(site.url + "/faults/slow", settings)
    assert time.perf_counter() - t0 < faults.SLOW_SECONDS - 1


def test_non_html_content_type_is_refused(site: FixtureSite) -> None:
    with pytest.raises(FetchError, match="content type application/octet-stream not accepted"):
        get(site.url + "/faults/binary")
    assert get(site.url + "/linkedin/export.zip", accept=("zip",)).content[:2] == b"PK"


def test_oversized_body_is_refused_without_reading_it(site: FixtureSite) -> None:
    t0 = time.perf_counter()
    with pytest.raises(FetchError, match="body too large: Content-Length 20971520 > max_body_bytes 5000000"):
        get(site.url + "/faults/huge")
    assert time.perf_counter() - t0 < 2


def test_latin1_page_is_decoded_from_its_header(site: FixtureSite) -> None:
    result = get(site.url + "/faults/latin1")
    assert faults.LATIN1_TEXT in (result.text or "") and result.encoding == "cp1252"


def test_robots_disallowed_path_is_never_requested(site: FixtureSite) -> None:
    with pytest.raises(FetchError, match=r"disallowed by robots\.txt"):
        get(site.url + "/private/secret.html")
    assert "/private/secret.html" not in site.hits
    ignoring = FAST.model_copy(update={"respect_robots": False})
    assert get(site.url + "/private/secret.html", ignoring).status == 200


def test_private_address_is_refused_before_any_traffic() -> None:
    with FixtureSite() as fresh:
        with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1 resolves to non-public address 127\.0\.0\.1"):
            get(fresh.url + "/blog/", CrawlSettings(retries=0))
        assert fresh.hits == {}  # not even robots.txt


def test_conditional_get_and_redirect(site: FixtureSite) -> None:
    first = get(site.url + "/blog")
    assert first.final_url == site.url + "/blog/" and first.etag
    again = get(site.url + "/blog", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.status == 304 and again.text is None


def test_per_host_rate_limit_spaces_requests(site: FixtureSite) -> None:
    settings = FAST.model_copy(update={"per_host_rate": 20.0, "per_host_concurrency": 4})

    async def go() -> float:
        async with SafeFetcher(settings) as fetcher:
            await fetcher.fetch(site.url + "/blog/")  # robots.txt + page
            t0 = time.perf_counter()
            await asyncio.gather(*(fetcher.fetch(site.url + "/blog/") for _ in range(6)))
            return time.perf_counter() - t0

    assert asyncio.run(go()) >= 5 / 20.0 - 0.02

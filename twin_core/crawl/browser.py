"""Pages that need JavaScript (``render: true``): crawl4ai driving the system's Chromium in managed mode.

crawl4ai 0.9.5 reads the browser binary from ``$CRAWL4_AI_BASE_DIRECTORY/.crawl4ai/chromium.path`` when it
launches a managed (CDP) browser; this module writes that file. Every request the page makes passes the
network guard, so a rendered page cannot reach private addresses either.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from twin_core.crawl.base import CrawlFailure
from twin_core.crawl.netguard import BlockedAddress, check_host, parse_url
from twin_core.crawl.settings import CrawlSettings

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
QUIET_FLAGS = [
    "--no-sandbox",  # root in a container has no user namespaces for the sandbox
    "--disable-background-networking",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-pings",
    "--metrics-recording-only",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationGuideModelDownloading,MediaRouter",
]
_INERT_SCHEMES = ("data:", "blob:", "about:")
_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def find_chromium(configured: str | None = None) -> str | None:
    """The Chromium binary: ``crawl.chromium_path``, ``$TWIN_CHROMIUM``, or the first one on PATH."""
    for candidate in (configured, os.environ.get("TWIN_CHROMIUM")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def crawl4ai_home(work_dir: Path, chromium: str) -> Path:
    """Point crawl4ai at a base directory whose ``chromium.path`` names ``chromium``; returns the base directory."""
    base = Path(os.environ.setdefault("CRAWL4_AI_BASE_DIRECTORY", str(work_dir / "crawl4ai")))
    home = base / ".crawl4ai"
    home.mkdir(parents=True, exist_ok=True)
    path_file = home / "chromium.path"
    if not path_file.is_file() or not Path(path_file.read_text().strip()).is_file():
        path_file.write_text(chromium)
    return base


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _slot() -> asyncio.Semaphore:
    """One browser at a time per event loop: Chromium is heavy on a small machine."""
    loop = asyncio.get_running_loop()
    for stale in [lp for lp in _slots if lp.is_closed()]:
        del _slots[stale]
    return _slots.setdefault(loop, asyncio.Semaphore(1))


def request_guard(allow_private: bool) -> Any:
    """A crawl4ai ``on_page_context_created`` hook that aborts page requests to refused addresses."""

    async def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(_INERT_SCHEMES):
            await route.continue_()
            return
        try:
            parsed = parse_url(url)
            await check_host(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80), allow_private)
        except BlockedAddress:
            await route.abort("blockedbyclient")
            return
        await route.continue_()

    async def hook(page: Any, context: Any = None, **_: Any) -> Any:
        await (context or page.context).route("**/*", route)
        return page

    return hook


async def render_html(url: str, settings: CrawlSettings, work_dir: Path) -> str:
    """The page's HTML after its scripts ran; CrawlFailure with the reason when it cannot be rendered."""
    chromium = find_chromium(settings.chromium_path)
    if chromium is None:
        raise CrawlFailure(
            "render: true needs Chromium, which is not installed (apt-get install chromium, or set crawl.chromium_path)"
        )
    base = crawl4ai_home(work_dir, chromium)
    os.environ.setdefault("CRAWL4AI_NO_CLOUD_NOTICE", "1")
    from crawl4ai import AsyncWebCrawler, BrowserConfig, CacheMode, CrawlerRunConfig

    browser = BrowserConfig(
        browser_type="chromium",
        headless=True,
        use_managed_browser=True,
        debugging_port=_free_port(),
        user_agent=settings.user_agent,
        extra_args=QUIET_FLAGS,
        verbose=False,
    )
    run = CrawlerRunConfig(
        cache_mode=CacheMode.BYPASS, page_timeout=int(settings.render_timeout_s * 1000), verbose=False
    )
    async with _slot():
        try:
            async with AsyncWebCrawler(config=browser, base_directory=str(base)) as crawler:
                crawler.crawler_strategy.set_hook(
                    "on_page_context_created", request_guard(settings.allow_private_networks)
                )
                result = await asyncio.wait_for(crawler.arun(url, config=run), settings.render_timeout_s * 2)
        except TimeoutError:
            raise CrawlFailure(f"render: no page within {settings.render_timeout_s * 2:g} s") from None
        except Exception as exc:
            raise CrawlFailure(f"render: the browser failed: {type(exc).__name__}: {exc}"[:300]) from exc
    if not result.success:
        raise CrawlFailure(f"render: {result.error_message or 'the page did not load'}"[:300])
    html = result.html or ""
    if len(html.encode("utf-8")) > settings.max_body_bytes:
        raise CrawlFailure(f"body too large: rendered page over max_body_bytes {settings.max_body_bytes}")
    return html

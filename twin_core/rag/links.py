"""Links a request carries, fetched through the crawler's SafeFetcher (SSRF guard on every hop) and extracted, then
screened by the guardrails: a page's text is untrusted (indirect prompt injection) and may carry PII."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from twin_core.crawl.extract import extract_article
from twin_core.crawl.fetcher import FetchError, SafeFetcher
from twin_core.crawl.settings import CrawlSettings
from twin_core.rag.settings import LinkSettings

log = logging.getLogger("twin.rag")
T = TypeVar("T")
DEFAULT_USER_AGENT = "LLMTwinBot/0.1 (+https://github.com/llm-twin; fetching a link a user gave)"
_GUARD_WORDS = ("non-public address", "malformed URL", "unsupported URL scheme", "cannot resolve host")


class LinkRefused(ValueError):
    """A link in a request was refused (private address, bad URL, too many links) or could not be fetched."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"link {url!r} refused: {reason}")


@dataclass(frozen=True)
class LinkContext:
    """A fetched link's title and extracted text (cut to ``max_chars_per_link``)."""

    url: str
    title: str
    text: str


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion, in a helper thread when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _text(url: str, content_type: str, body: str, limit: int) -> tuple[str, str]:
    if content_type in ("text/html", "application/xhtml+xml"):
        article = extract_article(body, url)
        title, text = article.title, article.markdown
    else:
        title, text = "", body
    text = text.strip()
    if len(text) > limit:
        cut = text[:limit]
        text = (cut.rsplit(None, 1)[0] if " " in cut else cut) + " …"
    return title.strip(), text


async def _fetch_all(urls: Sequence[str], settings: LinkSettings, user_agent: str, backend: Any) -> list[LinkContext]:
    crawl = CrawlSettings(
        timeout_s=settings.timeout_s,
        deadline_s=max(settings.timeout_s * 2, settings.timeout_s + 5),
        retries=1,
        backoff_s=0.2,
        max_body_bytes=settings.max_bytes,
        user_agent=user_agent,
        allow_private_networks=settings.allow_private_networks,
        respect_robots=True,
        per_host_rate=50.0,
    )
    async with SafeFetcher(crawl, backend=backend) as fetcher:

        async def one(url: str) -> LinkContext:
            try:
                result = await fetcher.fetch(url, accept=("html", "text"))
            except FetchError as exc:
                reason = exc.reason.replace("crawl.allow_private_networks", "rag.links.allow_private_networks")
                raise LinkRefused(url, reason) from None
            title, text = _text(result.final_url, result.content_type, result.text or "", settings.max_chars_per_link)
            if not text:
                raise LinkRefused(url, "no readable text found at the link")
            return LinkContext(url, title, text)

        return list(await asyncio.gather(*(one(u) for u in urls)))


def fetch_links(
    urls: Sequence[str], settings: LinkSettings, user_agent: str = DEFAULT_USER_AGENT, *, backend: Any = None
) -> list[LinkContext]:
    """Fetch and extract each link; LinkRefused names the first link refused (a private address unless
    ``allow_private_networks``, every redirect hop included) or failed. ``backend``: an httpcore network backend."""
    urls = [u.strip() for u in urls if u and u.strip()]
    if not urls:
        return []
    if not settings.enabled:
        raise LinkRefused(urls[0], "links are disabled (rag.links.enabled=false)")
    if len(urls) > settings.max_links:
        raise LinkRefused(urls[settings.max_links], f"more than rag.links.max_links={settings.max_links} links")
    found = _run(_fetch_all(list(dict.fromkeys(urls)), settings, user_agent, backend))
    log.info("links fetched count=%d chars=%d", len(found), sum(len(f.text) for f in found))
    return found


def screen_links(links: Sequence[LinkContext], guardrails: Any) -> tuple[list[LinkContext], list[Any], list[str]]:
    """(kept links, guardrail decisions, notes): each link's title and text through ``guardrails.check_context``
    (the input's prompt-injection patterns and PII redaction). With ``guardrails.input.injection=block`` a link
    whose text matches is dropped, with a note naming it (not an error: the page, not the user, carries the
    injection); with ``flag`` it is kept and the match logged. ``guardrails`` None: links pass unchanged."""
    if guardrails is None:
        return list(links), [], []
    kept: list[LinkContext] = []
    decisions: list[Any] = []
    notes: list[str] = []
    for link in links:
        parts = {"link": link.text, "link title": link.title} if link.title else {"link": link.text}
        checked = {where: guardrails.check_context(text, where=where) for where, text in parts.items()}
        decisions += [d for result in checked.values() for d in result.decisions]
        blocked = [d for result in checked.values() for d in result.decisions if d.action == "block"]
        if blocked:
            note = f"link {link.url!r} dropped from the context: its text matches the prompt-injection pattern"
            notes.append(f"{note} {blocked[0].detail!r}")
            log.warning(
                "link dropped url=%s pattern=%s",
                link.url,
                blocked[0].detail,
                extra={"url": link.url, "guard": "injection"},
            )
            continue
        title = checked["link title"].text if link.title else link.title
        kept.append(LinkContext(link.url, title, checked["link"].text))
    return kept, decisions, notes


def is_guard_refusal(exc: LinkRefused) -> bool:
    """True when the refusal came from the URL/address guard rather than from the remote site."""
    return any(w in exc.reason for w in _GUARD_WORDS)

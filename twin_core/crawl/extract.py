"""Article extraction from HTML: title, subtitle, body as Markdown (code blocks keep language and whitespace),
published date, tags; and recognition of bot walls, captchas and paywalls."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from markdownify import MarkdownConverter

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")
_WALLS: list[tuple[str, re.Pattern[str]]] = [
    (
        "bot wall (Cloudflare challenge)",
        re.compile(
            r"<title>\s*(Just a moment\.\.\.|Attention Required! \| Cloudflare)|/cdn-cgi/challenge-platform/|"
            r"\bcf-turnstile\b|_cf_chl_opt|\bcf-browser-verification\b",
            re.I,
        ),
    ),
    (
        "captcha (human verification)",
        re.compile(
            r"\bclass=\"[^\"]*\b(g-recaptcha|h-captcha)\b|captcha-delivery\.com|\bpx-captcha\b|<title>[^<]*captcha",
            re.I,
        ),
    ),
    (
        "paywall: member-only story",
        re.compile(r"\"isLocked\"\s*:\s*true|data-testid=\"paywall\"[^>]*>[^<]*<h2>\s*Member-only", re.I),
    ),
    (
        "paywall: subscriber-only post",
        re.compile(
            r"class=\"(?:[^\"]*\s)?paywall(?:\s[^\"]*)?\"|This post is for paid subscribers|data-testid=\"paywall\"",
            re.I,
        ),
    ),
]
_DROP = "script, style, noscript, template, svg, iframe, form, button, input, select, textarea, dialog"
_FENCE = re.compile(r"^(```|~~~)", re.M)


@dataclass(frozen=True)
class ExtractRules:
    """CSS selectors for one site's markup, tried in order; the defaults suit most blogs."""

    title: Sequence[str] = ("h1",)
    subtitle: Sequence[str] = ()
    body: Sequence[str] = (
        ".e-content",
        "[itemprop=articleBody]",
        ".entry-content",
        ".post-content",
        ".article-content",
        ".post-body",
        "article",
        "main",
        "[role=main]",
    )
    strip: Sequence[str] = ("nav", "header", "footer", "aside", ".share", ".comments", ".related")
    tags: Sequence[str] = ('a[rel~="tag"]',)
    min_chars: int = 80


@dataclass
class Article:
    """What extraction found; ``markdown`` is empty when the page has no readable body."""

    title: str = ""
    subtitle: str = ""
    markdown: str = ""
    published: datetime | None = None
    tags: list[str] = field(default_factory=list)
    canonical: str | None = None


@dataclass
class PageInfo:
    """Page-level metadata from <head>: Open Graph, article:*, JSON-LD and feed links."""

    title: str = ""
    description: str = ""
    published: datetime | None = None
    tags: list[str] = field(default_factory=list)
    canonical: str | None = None
    is_article: bool = False
    feeds: list[str] = field(default_factory=list)


def detect_wall(html: str, headers: Mapping[str, str] | None = None) -> str | None:
    """The reason a page is a bot wall, captcha or paywall instead of content, or None when it is content."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if lowered.get("cf-mitigated", "").lower() == "challenge":
        return "bot wall (Cloudflare challenge)"
    for reason, pattern in _WALLS:
        if pattern.search(html):
            return reason
    return None


def parse_date(value: Any) -> datetime | None:
    """ISO 8601 or RFC 2822 date -> aware UTC datetime; None when unreadable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def merge_tags(*groups: Sequence[str]) -> list[str]:
    """Tags from several sources, first spelling kept, case-insensitive duplicates dropped."""
    seen: dict[str, str] = {}
    for group in groups:
        for tag in group:
            tag = str(tag).strip()
            if tag:
                seen.setdefault(tag.casefold(), tag)
    return list(seen.values())


def _meta(soup: BeautifulSoup, *names: str) -> list[str]:
    out = []
    for name in names:
        for el in soup.find_all("meta", attrs={"property": name}) + soup.find_all("meta", attrs={"name": name}):
            if el.get("content"):
                out.append(str(el["content"]).strip())
    return out


def _json_ld(soup: BeautifulSoup) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for el in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            data = json.loads(el.string or "")
        except ValueError:
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
        found.extend(i for i in items if isinstance(i, dict))
    return found


def page_info(soup: BeautifulSoup, url: str) -> PageInfo:
    """Read <head> metadata; ``is_article`` when the page declares itself one article."""
    ld = _json_ld(soup)
    ld_article = next((i for i in ld if "Article" in str(i.get("@type", "")) or i.get("@type") == "BlogPosting"), {})
    title_el = soup.find("title")
    titles = [*_meta(soup, "og:title", "twitter:title"), str(ld_article.get("headline") or "")]
    titles.append(title_el.get_text(" ", strip=True) if title_el else "")
    published = _meta(soup, "article:published_time", "datePublished", "date")
    published.append(str(ld_article.get("datePublished") or ""))
    keywords = ld_article.get("keywords") or []
    canonical = soup.find("link", rel="canonical")
    feeds = [
        urljoin(url, str(el["href"]))
        for el in soup.find_all("link", rel="alternate")
        if el.get("href") and str(el.get("type", "")).lower() in FEED_TYPES
    ]
    return PageInfo(
        title=next((t for t in titles if t), ""),
        description=next(iter(_meta(soup, "og:description", "description", "twitter:description")), ""),
        published=next((d for d in map(parse_date, published) if d), None),
        tags=merge_tags(_meta(soup, "article:tag"), keywords if isinstance(keywords, list) else keywords.split(",")),
        canonical=urljoin(url, str(canonical["href"])) if canonical and canonical.get("href") else None,
        is_article=bool(ld_article)
        or "article" in _meta(soup, "og:type")
        or bool(_meta(soup, "article:published_time")),
        feeds=feeds,
    )


class _Converter(MarkdownConverter):
    """markdownify with fenced code blocks that keep the ``language-x`` class of <pre><code>."""

    def __init__(self, **options: Any) -> None:
        super().__init__(
            heading_style="ATX",
            bullets="-",
            code_language_callback=_code_language,
            escape_underscores=False,
            escape_asterisks=False,
            **options,
        )


def _code_language(el: Tag) -> str | None:
    for node in (el.find("code"), el):
        for cls in (node.get("class") or []) if isinstance(node, Tag) else []:
            if cls.startswith(("language-", "lang-")):
                return cls.split("-", 1)[1]
    return None


def tidy_markdown(md: str) -> str:
    """Trim trailing spaces and collapse blank-line runs outside fenced code; code is left byte for byte."""
    out, in_code = [], False
    for part in _FENCE.split(md):
        if part in ("```", "~~~"):
            in_code = not in_code
        elif not in_code:
            part = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", part))
        out.append(part)
    text = "".join(out).strip()
    return text + "\n" if text else ""


def to_markdown(node: Tag) -> str:
    """A subtree as Markdown."""
    return tidy_markdown(_Converter().convert_soup(node))


def _tag_of(link: Tag) -> str:
    """A tag link's slug when its URL is /tag/<slug> or /tags/<slug>.html, else its text."""
    path = urlsplit(str(link.get("href") or "")).path.rstrip("/")
    if re.search(r"/tags?/[^/]+$", path):
        return re.sub(r"\.html?$", "", path.rsplit("/", 1)[-1])
    return link.get_text(" ", strip=True)


def _first_text(soup: BeautifulSoup | Tag, selectors: Sequence[str]) -> tuple[str, Tag | None]:
    for selector in selectors:
        el = soup.select_one(selector)
        if el is not None and el.get_text(strip=True):
            return el.get_text(" ", strip=True), el
    return "", None


def _container(soup: BeautifulSoup, rules: ExtractRules) -> Tag | None:
    for selector in rules.body:
        for el in soup.select(selector):
            if len(el.get_text(" ", strip=True)) >= rules.min_chars:
                return el
    return None


def _fallback_markdown(html: str) -> str:
    import trafilatura

    text = trafilatura.extract(html, output_format="markdown", include_formatting=True, favor_recall=True)
    return tidy_markdown(text or "")


def extract_article(html: str, url: str, rules: ExtractRules | None = None) -> Article:
    """Extract one article; the body falls back to trafilatura when no selector finds enough text."""
    rules = rules or ExtractRules()
    soup = BeautifulSoup(html, "lxml")
    info = page_info(soup, url)
    page_tags = [_tag_of(a) for selector in rules.tags for a in soup.select(selector)]
    for el in soup.select(_DROP):
        el.decompose()
    title, title_el = _first_text(soup, rules.title)
    subtitle, subtitle_el = _first_text(soup, rules.subtitle) if rules.subtitle else ("", None)
    body = _container(soup, rules)
    if body is not None:
        for el in [title_el, subtitle_el, *[e for s in rules.strip for e in body.select(s)]]:
            if el is not None and el is not body and not el.decomposed:
                el.decompose()
        markdown = to_markdown(body)
    else:
        markdown = _fallback_markdown(html)
    if not title and info.title:
        title = re.split(r"\s+[|·–—-]\s+", info.title)[0]  # "Post title | Site name"
    return Article(
        title=title,
        subtitle=subtitle or info.description,
        markdown=markdown,
        published=info.published,
        tags=merge_tags(info.tags, page_tags),
        canonical=info.canonical,
    )

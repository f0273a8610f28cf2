"""Dispatcher: which crawler takes a link (its ``crawler`` name, else the first crawler whose pattern matches)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from twin_core.crawl.base import Crawler, CrawlFailure
from twin_core.crawl.settings import AuthorSources, LinkSpec, SourcesSettings

LINKEDIN_CRAWLER = "linkedin_export"
FILES_CRAWLER = "local_files"


@dataclass(frozen=True)
class SourceLink:
    """A link to crawl with where it was declared (``sources.authors[0].links[2]``)."""

    where: str
    link: LinkSpec


def author_links(author: AuthorSources, index: int, root: Path | None = None) -> list[SourceLink]:
    """Every link of an author: ``links``, then ``files`` (relative to ``root``) and ``linkedin_exports``."""
    base = f"sources.authors[{index}]"
    out = [SourceLink(f"{base}.links[{j}]", link) for j, link in enumerate(author.links)]
    for j, path in enumerate(author.files):
        path = path.expanduser()
        if not path.is_absolute() and root is not None:
            path = root / path
        url = str(path) if path.is_absolute() else f"./{path}"
        out.append(SourceLink(f"{base}.files[{j}]", LinkSpec(url=url, crawler=FILES_CRAWLER)))
    for j, export in enumerate(author.linkedin_exports):
        out.append(SourceLink(f"{base}.linkedin_exports[{j}]", LinkSpec(url=export, crawler=LINKEDIN_CRAWLER)))
    return out


class Dispatcher:
    """Picks crawlers from the configured registry (``crawl.crawlers``), in order."""

    def __init__(self, crawlers: Sequence[Crawler]) -> None:
        self.crawlers = list(crawlers)
        self.by_name = {c.name: c for c in self.crawlers}

    def pick(self, link: LinkSpec) -> Crawler:
        """The crawler for ``link``; CrawlFailure when its named crawler is unknown or no pattern matches."""
        if link.crawler:
            if link.crawler not in self.by_name:
                raise CrawlFailure(f"unknown crawler {link.crawler!r}; configured: {sorted(self.by_name)}")
            return self.by_name[link.crawler]
        for crawler in self.crawlers:
            if crawler.matches(link.url):
                return crawler
        raise CrawlFailure(f"no configured crawler matches {link.url!r}; configured: {sorted(self.by_name)}")


def check_sources(sources: SourcesSettings, crawlers: Sequence[Crawler]) -> list[str]:
    """Config problems: links naming an unknown crawler, or matched by none (for ``twin validate``)."""
    dispatcher, problems = Dispatcher(crawlers), []
    for i, author in enumerate(sources.authors):
        for item in author_links(author, i):
            try:
                dispatcher.pick(item.link)
            except CrawlFailure as exc:
                where = f"{item.where}.crawler" if item.link.crawler and ".links[" in item.where else item.where
                problems.append(f"{where}: {exc.reason}")
    return problems

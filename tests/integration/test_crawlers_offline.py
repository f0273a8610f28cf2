"""Crawlers over real HTTP on 127.0.0.1: the LinkedIn export from the fixture site, a GitHub profile from a fake API."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from twin_core.crawl.base import CrawlContext, CrawlFailure
from twin_core.crawl.crawlers.github import GitHubCrawler
from twin_core.crawl.crawlers.linkedin import LinkedInExportCrawler
from twin_core.crawl.fetcher import SafeFetcher
from twin_core.crawl.settings import CrawlSettings, LinkSpec
from twin_core.demo.fixture_corpus import build_git_repo, default_corpus_dir, load_docs
from twin_core.demo.fixture_site import FixtureSite
from twin_core.domain.documents import ArticleDocument, Author, PostDocument, RawDocument

pytestmark = pytest.mark.integration

SETTINGS = CrawlSettings(allow_private_networks=True, retries=0, per_host_rate=100.0)


def run(crawler, url: str, tmp_path: Path, settings: CrawlSettings = SETTINGS) -> list[RawDocument]:
    async def go() -> list[RawDocument]:
        async with SafeFetcher(settings) as fetcher:
            ctx = CrawlContext(settings, Author(full_name="Ysolde Example"), fetcher, tmp_path / "work")
            return await crawler.crawl(LinkSpec(url=url), ctx)

    return asyncio.run(go())


def test_linkedin_export_downloaded_from_the_fixture_site(tmp_path: Path) -> None:
    corpus = default_corpus_dir()
    with FixtureSite() as site:
        docs = run(LinkedInExportCrawler(), site.url + "/linkedin/export.zip", tmp_path)
        again = run(LinkedInExportCrawler(), site.url + "/linkedin/export.zip", tmp_path)
    posts = [d for d in docs if isinstance(d, PostDocument)]
    articles = [d for d in docs if isinstance(d, ArticleDocument)]
    assert {p.content["text"] for p in posts} == {d.body.strip() for d in load_docs(corpus, "linkedin/posts")}
    assert len(articles) == len(load_docs(corpus, "linkedin/articles"))
    assert all(p.link.startswith("https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A") for p in posts)
    assert all(a.link.startswith("https://www.linkedin.com/pulse/") and a.content["body"] for a in articles)
    assert {(d.id, d.content_hash) for d in docs} == {(d.id, d.content_hash) for d in again}


class _FakeGitHubApi(BaseHTTPRequestHandler):
    repos: ClassVar[list[dict[str, object]]] = []

    def do_GET(self) -> None:
        if self.path.startswith("/users/ysolde/repos?"):
            body, status = json.dumps(self.repos).encode(), 200
        else:
            body, status = b'{"message": "Not Found"}', 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[str]:
    repos = []
    for name, fork in (("hedgerow", False), ("copy-of-hedgerow", True), ("second", False)):
        path = build_git_repo(default_corpus_dir(), tmp_path / "repos" / name)
        page = f"https://github.com/ysolde/{name}"
        repos.append({"name": name, "fork": fork, "html_url": page, "clone_url": path.as_uri()})
    handler = type("Api", (_FakeGitHubApi,), {"repos": repos})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_github_profile_lists_repositories_through_the_api(fake_api: str, tmp_path: Path) -> None:
    docs = run(GitHubCrawler(api_url=fake_api), "https://github.com/ysolde", tmp_path)
    assert [d.link for d in docs] == ["https://github.com/ysolde/hedgerow", "https://github.com/ysolde/second"]
    assert all(d.platform == "github" and "hedgerow/checks.py" in d.content for d in docs)
    (first,) = run(GitHubCrawler(api_url=fake_api, max_repos=1), "https://github.com/ysolde", tmp_path)
    assert first.title == "hedgerow"
    with pytest.raises(CrawlFailure, match="HTTP 404"):
        run(GitHubCrawler(api_url=fake_api), "https://github.com/nobody", tmp_path)

"""GitHub crawler on local git repositories: byte-for-byte contents, skips, limits and bad inputs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from twin_core.crawl.base import CrawlContext, CrawlFailure
from twin_core.crawl.crawlers.github import GitHubCrawler
from twin_core.crawl.settings import CrawlSettings, LinkSpec
from twin_core.domain.documents import Author, RepositoryDocument

KEPT = {
    "src/tabs.py": b"def f():\n\tif True:\n\t\treturn 1\n",
    "crlf.txt": b"line one\r\nline two\r\n",
    "trailing.md": b"# Title   \n\nspaces at the end  \t\n\n\n",
    "no_newline.txt": b"no newline at the end",
    "docs/naïve-名前.md": "héllo — 世界 🎉\n".encode(),
    "bom.txt": b"\xef\xbb\xbfstarts with a BOM\n",
    ".gitignore": b"*.pyc\n",
}
SKIPPED = {
    "data.dat": (b"\x00\x01\x02binary", "binary"),
    "latin1.txt": ("café".encode("latin-1"), "binary"),
    "package-lock.json": (b"{}\n", "lock_file"),
    "poetry.lock": (b"# lock\n", "lock_file"),
    "node_modules/pkg/index.js": (b"module.exports = 1;\n", "vendored"),
    "build/out.txt": (b"generated\n", "vendored"),
    "big.txt": (b"x" * 5000, "too_large"),
    "logo.png": (b"\x89PNG\r\n\x1a\n", "media_or_archive"),
    "app.min.js": (b"var a=1;\n", "minified"),
}


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for role in ("AUTHOR", "COMMITTER"):
        env |= {f"GIT_{role}_NAME": "T", f"GIT_{role}_EMAIL": "t@x.org", f"GIT_{role}_DATE": "2025-01-02T03:04:05Z"}
    subprocess.run(["git", "-c", "core.autocrlf=false", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_repo(root: Path, files: dict[str, bytes], symlink: bool = False) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "--template=", "-b", "main")
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    if symlink:
        (root / "link.txt").symlink_to("crlf.txt")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {**KEPT, **{k: v for k, (v, _) in SKIPPED.items()}}, symlink=True)


@pytest.fixture
def ctx(tmp_path: Path) -> CrawlContext:
    return CrawlContext(CrawlSettings(), Author(full_name="Jane Doe"), fetcher=None, work_dir=tmp_path / "work")


def crawl(crawler: GitHubCrawler, url: str, ctx: CrawlContext) -> list[RepositoryDocument]:
    return asyncio.run(crawler.crawl(LinkSpec(url=url), ctx))  # type: ignore[return-value]


def test_kept_files_are_byte_for_byte_and_the_rest_skipped_by_reason(repo: Path, ctx: CrawlContext) -> None:
    (doc,) = crawl(GitHubCrawler(max_file_bytes=4096), str(repo), ctx)
    assert doc.platform == "git" and doc.link == repo.as_uri() and doc.title == "repo"
    assert sorted(doc.content) == sorted(KEPT)
    for path, text in doc.content.items():
        assert text.encode("utf-8") == KEPT[path] == (repo / path).read_bytes()
    expected: dict[str, int] = {"symlink": 1}
    for _, reason in SKIPPED.values():
        expected[reason] = expected.get(reason, 0) + 1
    assert doc.metadata["skipped"] == expected
    assert doc.metadata["files"] == len(KEPT) and len(doc.metadata["commit"]) == 40
    assert doc.published_at is not None and doc.published_at.year == 2025
    assert not any((ctx.work_dir).iterdir()), "the clone is removed after reading"


def test_same_repo_gives_the_same_document_twice(repo: Path, ctx: CrawlContext) -> None:
    first, second = (crawl(GitHubCrawler(), f"file://{repo}", ctx)[0] for _ in range(2))
    assert (first.id, first.content_hash) == (second.id, second.content_hash)


def test_file_count_and_repository_size_limits(repo: Path, ctx: CrawlContext) -> None:
    (doc,) = crawl(GitHubCrawler(max_files=2, max_file_bytes=4096), str(repo), ctx)
    assert len(doc.content) == 2 and doc.metadata["skipped"]["max_files"] == len(KEPT) - 2
    (doc,) = crawl(GitHubCrawler(max_repo_bytes=40, max_file_bytes=4096), str(repo), ctx)
    assert sum(len(t.encode()) for t in doc.content.values()) <= 40
    assert doc.metadata["skipped"]["max_repo_bytes"] == len(KEPT) - len(doc.content) > 0


def test_demo_repository_keeps_code_and_skips_lock_and_image(tmp_path: Path, ctx: CrawlContext) -> None:
    from twin_core.demo.fixture_corpus import build_git_repo, default_corpus_dir

    repo = build_git_repo(default_corpus_dir(), tmp_path / "hedgerow")
    (doc,) = crawl(GitHubCrawler(), str(repo), ctx)
    assert "hedgerow/checks.py" in doc.content and "tests/data/deliveries.tsv" in doc.content
    assert "poetry.lock" not in doc.content and "assets/logo.png" not in doc.content
    assert all(text.encode() == (repo / path).read_bytes() for path, text in doc.content.items())


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p / "missing", "no such git repository folder"),
        (lambda p: (p / "plain").mkdir() or p / "plain", "git could not clone"),
        (lambda p: (p / "empty").mkdir() or git(p / "empty", "init", "-q") or p / "empty", "empty repository"),
    ],
    ids=["missing", "not-a-repo", "no-commits"],
)
def test_bad_local_paths_fail_with_a_reason(tmp_path: Path, ctx: CrawlContext, make, reason: str) -> None:
    with pytest.raises(CrawlFailure, match=reason):
        crawl(GitHubCrawler(), str(make(tmp_path)), ctx)


def test_git_is_stopped_at_the_timeout(repo: Path, ctx: CrawlContext) -> None:
    with pytest.raises(CrawlFailure, match=r"git timed out after 0\.001s \(clone the repository\)"):
        crawl(GitHubCrawler(clone_timeout_s=0.001), str(repo), ctx)


def test_private_address_is_refused_before_cloning(ctx: CrawlContext) -> None:
    with pytest.raises(CrawlFailure, match=r"non-public address 10\.1\.2\.3"):
        crawl(GitHubCrawler(), "https://10.1.2.3/jane/repo", ctx)
    assert not ctx.work_dir.exists()


def test_skip_reasons_from_path_mode_and_size() -> None:
    c = GitHubCrawler(max_file_bytes=10)
    assert c.skip_reason("a/vendor/x.go", "100644", "blob", 1) == "vendored"
    assert c.skip_reason("sub", "160000", "commit", 0) == "submodule"
    assert c.skip_reason("go.sum", "100644", "blob", 1) == "lock_file"
    assert c.skip_reason("dist.tar.gz", "100644", "blob", 1) == "media_or_archive"
    assert c.skip_reason("bundle.js.map", "100644", "blob", 1) == "minified"
    assert c.skip_reason("src/main.py", "100755", "blob", 11) == "too_large"
    assert c.skip_reason("src/main.py", "100755", "blob", 10) is None


def test_profile_listing_refuses_local_clone_urls_unless_private_networks_are_allowed(
    repo: Path, ctx: CrawlContext
) -> None:
    class Api:
        async def fetch(self, url: str, accept: tuple[str, ...] = ()) -> SimpleNamespace:
            assert url.startswith("https://api.example.org/users/jane/repos?") and accept == ("json",)
            listing = [{"clone_url": repo.as_uri(), "html_url": "https://github.com/jane/repo", "fork": False}]
            return SimpleNamespace(status=200, text=json.dumps(listing))

    ctx.fetcher = Api()
    with pytest.raises(CrawlFailure, match="local clone URL refused"):
        crawl(GitHubCrawler(api_url="https://api.example.org"), "https://github.com/jane", ctx)
    ctx.settings = CrawlSettings(allow_private_networks=True)
    (doc,) = crawl(GitHubCrawler(api_url="https://api.example.org"), "https://github.com/jane", ctx)
    assert doc.link == "https://github.com/jane/repo" and doc.platform == "github"

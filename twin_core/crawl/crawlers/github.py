"""GitHub: a repository, a profile's public repositories (REST API), or a local git path, one document each.

Repositories are shallow-cloned without a checkout (hooks, credential helpers, prompts and user git config off),
and files are read straight from the commit's blobs, so content is exactly what was committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from pydantic import Field

from twin_core.crawl.base import CrawlContext, Crawler, CrawlFailure
from twin_core.crawl.crawlers.local_files import local_path
from twin_core.crawl.incremental import note_failure
from twin_core.crawl.netguard import BlockedAddress, check_host
from twin_core.crawl.settings import LinkSpec
from twin_core.domain.documents import RawDocument, RepositoryDocument

log = logging.getLogger(__name__)

# fmt: off
SKIP_DIRS = ["node_modules", "vendor", "third_party", "dist", "build", ".git", "__pycache__", ".venv", "venv",
             "site-packages", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".benchmarks"]
LOCK_FILES = ["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Pipfile.lock", "uv.lock",
              "Cargo.lock", "Gemfile.lock", "composer.lock", "go.sum", "npm-shrinkwrap.json", "bun.lockb"]
MEDIA_EXTENSIONS = ["png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tif", "tiff", "svg", "psd", "mp3", "mp4",
                    "mov", "avi", "wav", "ogg", "flac", "webm", "pdf", "zip", "tar", "gz", "tgz", "bz2", "xz", "7z",
                    "rar", "jar", "war", "whl", "egg", "exe", "dll", "so", "dylib", "o", "a", "pyc", "class", "woff",
                    "woff2", "ttf", "otf", "eot", "sqlite", "db", "bin", "npy", "npz", "pkl", "pt", "onnx", "parquet"]
# fmt: on
_READ_CHUNK_BYTES = 8_000_000


class GitHubCrawler(Crawler):
    """Clones repositories (shallow, no checkout) and keeps their text files byte for byte."""

    name: str = "github"
    patterns: list[str] = Field(
        default_factory=lambda: [r"^https?://(www\.)?github\.com/[\w.-]+(/[\w.-]+)?/?$", r"\.git/?$"]
    )
    api_url: str = Field(default="https://api.github.com", description="GitHub REST API root (profile listing).")
    max_repos: int = Field(default=10, gt=0, le=100, description="Repositories taken from a profile at most.")
    include_forks: bool = Field(default=False, description="Also collect forks from a profile.")
    max_repo_bytes: int = Field(default=20_000_000, gt=0, description="Total bytes of kept files per repository.")
    max_files: int = Field(default=2000, gt=0, description="Kept files per repository at most.")
    max_file_bytes: int = Field(default=1_000_000, gt=0)
    clone_timeout_s: float = Field(default=120.0, gt=0)
    skip_dirs: list[str] = Field(default_factory=lambda: list(SKIP_DIRS))
    lock_files: list[str] = Field(default_factory=lambda: list(LOCK_FILES))
    media_extensions: list[str] = Field(default_factory=lambda: list(MEDIA_EXTENSIONS))

    async def crawl(self, link: LinkSpec, ctx: CrawlContext) -> list[RawDocument]:
        url = link.url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            path = local_path(url)
            if not path.is_dir():
                raise CrawlFailure(f"no such git repository folder: {path}")
            return [await self.collect(path.as_uri(), path.as_uri(), "git", ctx)]
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 1 and parts.hostname in ("github.com", "www.github.com"):
            return await self.crawl_profile(segments[0], ctx)
        if len(segments) < 2:
            raise CrawlFailure(f"not a repository or profile URL (want https://<host>/<owner>/<repo>): {url}")
        page = f"{parts.scheme}://{parts.netloc}/{segments[0]}/{segments[1].removesuffix('.git')}"
        return [await self.collect(f"{page}.git", page, "github", ctx)]

    async def crawl_profile(self, user: str, ctx: CrawlContext) -> list[RawDocument]:
        """List a user's public repositories through the REST API and collect each (forks optional)."""
        url = f"{self.api_url.rstrip('/')}/users/{quote(user)}/repos?per_page=100&type=owner&sort=pushed"
        try:
            result = await ctx.fetcher.fetch(url, accept=("json",))
        except CrawlFailure:
            raise
        except Exception as exc:
            raise CrawlFailure(f"GitHub API listing failed for {user!r}: {type(exc).__name__}: {exc}") from exc
        if result.status != 200:
            raise CrawlFailure(f"GitHub API answered HTTP {result.status} for user {user!r}")
        try:
            repos = json.loads(result.text if result.text is not None else result.content or b"")
        except ValueError as exc:
            raise CrawlFailure(f"GitHub API listing for {user!r} is not JSON: {exc}") from exc
        if not isinstance(repos, list):
            raise CrawlFailure(f"GitHub API listing for {user!r} is not a list")
        listed = [r for r in repos if isinstance(r, dict) and r.get("clone_url")]
        chosen = [r for r in listed if self.include_forks or not r.get("fork")]
        docs: list[RawDocument] = []
        failures: list[str] = []
        for repo in chosen[: self.max_repos]:
            clone_url = str(repo["clone_url"])
            page = str(repo.get("html_url") or clone_url.removesuffix(".git"))
            if urlsplit(clone_url).scheme == "file" and not ctx.settings.allow_private_networks:
                failures.append(f"{page}: local clone URL refused (private networks not allowed)")
                note_failure(ctx, page, "local clone URL refused (private networks not allowed)")
                continue
            try:
                docs.append(await self.collect(clone_url, page, "github", ctx))
            except CrawlFailure as exc:
                failures.append(f"{page}: {exc.reason}")
                note_failure(ctx, page, exc.reason)
                log.warning("github: skipped %s: %s", page, exc.reason)
        if not docs and failures:
            raise CrawlFailure("; ".join(failures[:3]))
        if not docs:
            raise CrawlFailure(f"user {user!r} has no public repositories to collect")
        return docs

    async def collect(self, clone_url: str, link: str, platform: str, ctx: CrawlContext) -> RepositoryDocument:
        """Clone one repository into a scratch folder, read its kept files, and remove the clone."""
        scheme = urlsplit(clone_url).scheme
        network = await pinned_resolution(clone_url, ctx) if scheme in ("http", "https") else []
        if scheme not in ("http", "https", "file"):
            raise CrawlFailure(f"unsupported clone URL scheme {scheme!r}: {clone_url}")
        try:
            ctx.work_dir.mkdir(parents=True, exist_ok=True)
            dest = Path(tempfile.mkdtemp(prefix="repo-", dir=ctx.work_dir))
        except OSError as exc:
            raise CrawlFailure(f"cannot make a scratch folder under {ctx.work_dir}: {exc}") from exc
        try:
            protocol = [*network, "-c", "protocol.allow=never", "-c", f"protocol.{scheme}.allow=always"]
            await self._git(dest.parent, *protocol, "clone", "--depth", "1", "--no-tags", "--single-branch",
                            "--no-checkout", "--template=", "--quiet", "--", clone_url, str(dest))  # fmt: skip
            head = await self._git(dest, "log", "-1", "--format=%H%n%cI", "HEAD", what="read HEAD (empty repository?)")
            sha, committed = head.decode().split()
            listing = await self._git(dest, "ls-tree", "-r", "-l", "-z", "HEAD")
            files, skipped = await self._read_files(dest, listing)
        finally:
            await asyncio.to_thread(shutil.rmtree, dest, True)
        name = PurePosixPath(urlsplit(link).path.rstrip("/")).name.removesuffix(".git")
        return RepositoryDocument(
            platform=platform,
            link=link,
            author_id=ctx.author.id,
            author_name=ctx.author.full_name,
            title=name,
            content=files,
            published_at=committed,
            metadata={
                "commit": sha,
                "files": len(files),
                "bytes": sum(len(t.encode()) for t in files.values()),
                "skipped": dict(sorted(skipped.items())),
            },
        )

    def skip_reason(self, path: str, mode: str, kind: str, size: int) -> str | None:
        """Why a tree entry is not kept, judged from its path, mode and size alone (None: read it)."""
        parts = PurePosixPath(path).parts
        name = parts[-1]
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if kind == "commit":
            return "submodule"
        if mode == "120000":
            return "symlink"
        if any(p in self.skip_dirs for p in parts[:-1]):
            return "vendored"
        if name in self.lock_files:
            return "lock_file"
        if suffix in self.media_extensions:
            return "media_or_archive"
        if ".min." in name or suffix == "map":
            return "minified"
        if size > self.max_file_bytes:
            return "too_large"
        return None

    async def _read_files(self, repo: Path, listing: bytes) -> tuple[dict[str, str], Counter[str]]:
        skipped: Counter[str] = Counter()
        wanted: list[tuple[str, str, int]] = []
        for entry in filter(None, listing.split(b"\0")):
            info, _, raw_path = entry.partition(b"\t")
            mode, kind, sha, size = info.decode().split()
            try:
                path = raw_path.decode("utf-8")
            except UnicodeDecodeError:
                skipped["undecodable_path"] += 1
                continue
            reason = self.skip_reason(path, mode, kind, int(size) if size.isdigit() else 0)
            if reason:
                skipped[reason] += 1
            else:
                wanted.append((path, sha, int(size)))
        files: dict[str, str] = {}
        total = 0
        for start, chunk in _chunks(wanted):
            if len(files) >= self.max_files:
                skipped["max_files"] += len(wanted) - start
                break
            blobs = _parse_batch(await self._git(repo, "cat-file", "--batch", stdin="\n".join(s for _, s, _ in chunk)))
            for (path, _sha, size), blob in zip(chunk, blobs, strict=True):
                text = _as_text(blob)
                if text is None:
                    skipped["binary"] += 1
                elif _looks_minified(path, text):
                    skipped["minified"] += 1
                elif len(files) >= self.max_files:
                    skipped["max_files"] += 1
                elif total + size > self.max_repo_bytes:
                    skipped["max_repo_bytes"] += 1
                else:
                    files[path] = text
                    total += size
        return files, skipped

    async def _git(self, cwd: Path, *args: str, stdin: str | None = None, what: str = "") -> bytes:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
        env.update(HOME=str(cwd), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
                   GIT_ASKPASS="/bin/false", SSH_ASKPASS="/bin/false", GIT_LFS_SKIP_SMUDGE="1", LC_ALL="C")  # fmt: skip
        safety = ["-c", "core.hooksPath=/dev/null", "-c", "credential.helper=", "-c", "core.fsmonitor=false"]
        try:
            proc = await asyncio.create_subprocess_exec(
                "git", *safety, *args, cwd=cwd, env=env, stdin=asyncio.subprocess.PIPE if stdin is not None else None,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            raise CrawlFailure(f"cannot run git: {exc}") from exc
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(stdin.encode() if stdin is not None else None), self.clone_timeout_s
            )
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise CrawlFailure(f"git timed out after {self.clone_timeout_s}s ({what or _verb(args)})") from exc
        if proc.returncode != 0:
            message = err.decode(errors="replace").strip().splitlines()
            detail = message[-1] if message else f"exit status {proc.returncode}"
            raise CrawlFailure(f"git could not {what or _verb(args)}: {detail}")
        return out


async def pinned_resolution(url: str, ctx: CrawlContext) -> list[str]:
    """Check a clone URL's host like the fetcher does, then pin git (curl) to the checked addresses."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await check_host(parts.hostname or "", port, ctx.settings.allow_private_networks)
    except BlockedAddress as exc:
        raise CrawlFailure(exc.reason) from exc
    pinned = ",".join(f"[{a}]" if a.version == 6 else str(a) for a in addresses)
    return ["-c", f"http.curloptResolve={parts.hostname}:{port}:{pinned}", "-c", "http.followRedirects=false"]


def _verb(args: tuple[str, ...]) -> str:
    command = next((a for a in args if not a.startswith("-") and "=" not in a), "run")
    return "clone the repository" if command == "clone" else f"run {command}"


def _chunks(items: list[tuple[str, str, int]]) -> list[tuple[int, list[tuple[str, str, int]]]]:
    out: list[tuple[int, list[tuple[str, str, int]]]] = []
    start, size = 0, 0
    for i, item in enumerate(items):
        if i > start and (size + item[2] > _READ_CHUNK_BYTES or i - start >= 500):
            out.append((start, items[start:i]))
            start, size = i, 0
        size += item[2]
    if start < len(items):
        out.append((start, items[start:]))
    return out


def _parse_batch(data: bytes) -> list[bytes]:
    blobs, pos = [], 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        if len(header) != 3:
            raise CrawlFailure(f"git cat-file: unexpected object header {data[pos:end][:80]!r}")
        size = int(header[2])
        blobs.append(data[end + 1 : end + 1 + size])
        pos = end + 1 + size + 1
    return blobs


def _as_text(blob: bytes) -> str | None:
    if b"\0" in blob:
        return None
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _looks_minified(path: str, text: str) -> bool:
    if not path.endswith((".js", ".mjs", ".cjs", ".css")) or len(text) < 2000:
        return False
    return len(text) / (text.count("\n") + 1) > 300

"""The fixture site serves the demo corpus like Medium/Substack/a blog/LinkedIn, with fault pages."""

from __future__ import annotations

import base64
import csv
import io
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import urllib.robotparser
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("markdown_it")

from twin_core.demo import fixture_faults
from twin_core.demo.fixture_corpus import load_docs
from twin_core.demo.fixture_site import (
    FixtureSite,
    build_git_repo,
    build_linkedin_export,
    default_corpus_dir,
)

pytestmark = pytest.mark.integration

HANDLE = "ysoldebuilds"
MEDIUM_SLUG = "chunking-is-a-product-decision"
NS = {"content": "http://purl.org/rss/1.0/modules/content/", "atom": "http://www.w3.org/2005/Atom"}


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(default_corpus_dir(), dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="module")
def site(corpus: Path):
    with FixtureSite(corpus) as running:
        yield running


def test_corpus_has_the_promised_shape() -> None:
    counts = {k: len(load_docs(default_corpus_dir(), k)) for k in ("medium", "substack", "blog")}
    assert counts == {"medium": 6, "substack": 6, "blog": 6}
    assert len(load_docs(default_corpus_dir(), "linkedin/posts")) == 22
    assert len(load_docs(default_corpus_dir(), "linkedin/articles")) == 3
    words = sum(d.words for k in ("medium", "substack", "blog", "linkedin/posts", "linkedin/articles", "notes")
                for d in load_docs(default_corpus_dir(), k))  # fmt: skip
    assert words > 23_000
    assert not list(default_corpus_dir().joinpath("repo").rglob(".git"))


@pytest.mark.parametrize(
    ("path", "status", "ctype"),
    [
        (f"/medium/@{HANDLE}", 200, "text/html"),
        (f"/medium/feed/@{HANDLE}", 200, "application/rss+xml"),
        (f"/medium/@{HANDLE}/{MEDIUM_SLUG}", 200, "text/html"),
        ("/medium/@someone-else", 404, "text/html"),
        ("/substack/feed", 200, "application/rss+xml"),
        ("/substack/p/small-models-small-bills", 200, "text/html"),
        ("/blog/", 200, "text/html"),
        ("/blog/feed.xml", 200, "application/atom+xml"),
        ("/blog/riding-to-edale-in-the-rain.html", 200, "text/html"),
        ("/robots.txt", 200, "text/plain"),
        ("/sitemap.xml", 200, "application/xml"),
        ("/private/secret.html", 200, "text/html"),
        ("/render/riding-to-edale-in-the-rain", 200, "text/html"),
        ("/linkedin/export.zip", 200, "application/zip"),
        ("/faults/404", 404, "text/html"),
        ("/no/such/page", 404, "text/html"),
        ("/faults/binary", 200, "application/octet-stream"),
        ("/faults/malformed", 200, "text/html"),
        ("/faults/botwall", 403, "text/html"),
        ("/faults/botwall200", 200, "text/html"),
        ("/faults/paywall", 200, "text/html"),
    ],
)
def test_routes_answer_with_status_and_type(site: FixtureSite, path: str, status: int, ctype: str) -> None:
    code, headers, body = get(site.url + path)
    assert code == status
    assert headers.get_content_type() == ctype
    assert body
    if status == 200:
        assert headers["ETag"] and headers["Last-Modified"]


def test_medium_article_has_title_code_and_boilerplate(site: FixtureSite) -> None:
    _, _, body = get(f"{site.url}/medium/@{HANDLE}/{MEDIUM_SLUG}")
    page = body.decode("utf-8")
    assert '<h1 id="chunking" class="pw-post-title" data-testid="storyTitle">Chunking Is a Product Decision' in page
    assert '<h2 class="pw-subtitle-paragraph">' in page
    assert '<pre><code class="language-python">' in page
    assert 'property="article:published_time" content="2025-09-09' in page
    assert '<a href="/tag/rag"' in page
    for junk in ("Sign up", "Recommended from Medium", "More from Ysolde Brannagh", "Text to speech"):
        assert junk in page


def test_medium_profile_links_every_article(site: FixtureSite) -> None:
    _, _, body = get(f"{site.url}/medium/@{HANDLE}")
    slugs = set(re.findall(rf'href="/medium/@{HANDLE}/([\w-]+)\?source=', body.decode()))
    assert slugs == {d.slug for d in load_docs(default_corpus_dir(), "medium")}


def test_feeds_list_every_document(site: FixtureSite) -> None:
    _, _, body = get(f"{site.url}/medium/feed/@{HANDLE}")
    items = ET.fromstring(body).findall("./channel/item")
    assert len(items) == 6
    links = {i.findtext("link") for i in items}
    assert f"{site.url}/medium/@{HANDLE}/{MEDIUM_SLUG}" in links
    assert all(i.findall("category") and i.findtext("pubDate") for i in items)
    assert all("<p>" in i.findtext("content:encoded", namespaces=NS) for i in items)
    _, _, body = get(f"{site.url}/substack/feed")
    assert len(ET.fromstring(body).findall("./channel/item")) == 6
    _, _, body = get(f"{site.url}/blog/feed.xml")
    assert len(ET.fromstring(body).findall("atom:entry", NS)) == 6


def test_substack_and_blog_markup(site: FixtureSite) -> None:
    page = get(f"{site.url}/substack/p/small-models-small-bills")[2].decode()
    assert '<h1 class="post-title published">Plumbing Notes #19' in page
    assert '<h3 class="subtitle">' in page and '<div dir="auto" class="body markup">' in page
    assert page.count("subscription-widget-wrap-editor") == 2
    page = get(f"{site.url}/blog/riding-to-edale-in-the-rain.html")[2].decode()
    assert '<main><article class="h-entry">' in page and '<time class="dt-published" datetime="2025-05-18' in page
    assert '<aside class="sidebar">' in page


def test_conditional_get_and_live_edits(site: FixtureSite, corpus: Path) -> None:
    url = f"{site.url}/blog/my-terminal-setup-2025.html"
    code, headers, _ = get(url)
    assert code == 200
    assert get(url, {"If-None-Match": headers["ETag"]})[0] == 304
    assert get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(url, {"If-None-Match": '"something-else"'})[0] == 200
    source = corpus / "blog" / "my-terminal-setup-2025.md"
    source.write_text(source.read_text(encoding="utf-8") + "\nA late edit about tmux.\n", encoding="utf-8")
    code, headers2, body = get(url, {"If-None-Match": headers["ETag"]})
    assert code == 200 and "A late edit about tmux." in body.decode()
    assert headers2["ETag"] != headers["ETag"]


def test_flaky_fails_once_then_recovers(site: FixtureSite) -> None:
    url = f"{site.url}/faults/flaky/test-a"
    assert get(url)[0] == 500
    code, _, body = get(url)
    assert code == 200 and fixture_faults.FLAKY_TEXT.encode() in body
    site.reset_faults()
    assert get(url)[0] == 500


def test_robots_disallows_private(site: FixtureSite) -> None:
    robots = urllib.robotparser.RobotFileParser(site.url + "/robots.txt")
    robots.read()
    assert not robots.can_fetch("twin-crawler", site.url + "/private/secret.html")
    assert robots.can_fetch("twin-crawler", f"{site.url}/medium/@{HANDLE}/{MEDIUM_SLUG}")


def test_latin1_page_declares_and_uses_its_charset(site: FixtureSite) -> None:
    _, headers, body = get(site.url + "/faults/latin1")
    assert headers.get_content_charset() == "iso-8859-1"
    text = body.decode(headers.get_content_charset())
    assert "é" in text and "ü" in text and "£" in text
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_awkward_pages(site: FixtureSite) -> None:
    code, headers, body = get(site.url + "/faults/botwall")
    assert code == 403 and b"Just a moment..." in body and headers["cf-mitigated"] == "challenge"
    assert b"Checking your browser" in get(site.url + "/faults/botwall200")[2]
    assert fixture_faults.MALFORMED_SENTENCE.encode() in get(site.url + "/faults/malformed")[2]
    paywall = get(site.url + "/faults/paywall")[2].decode()
    assert "Member-only story" in paywall and "available to Medium members only" in paywall
    assert "<pre>" not in paywall  # truncated before the first code block


def test_huge_is_streamed_with_its_length(site: FixtureSite) -> None:
    head = urllib.request.Request(site.url + "/faults/huge", method="HEAD")
    with urllib.request.urlopen(head, timeout=5) as resp:
        assert int(resp.headers["Content-Length"]) == fixture_faults.HUGE_SIZE
    with urllib.request.urlopen(site.url + "/faults/huge", timeout=5) as resp:
        assert resp.headers.get_content_type() == "text/html"
        assert resp.read(256 * 1024).startswith(b"<!DOCTYPE html>")


def test_slow_page_outlasts_a_short_timeout(site: FixtureSite) -> None:
    with pytest.raises((TimeoutError, urllib.error.URLError, socket.timeout)):
        get(site.url + "/faults/slow", timeout=0.3)


def test_render_page_is_empty_without_javascript(site: FixtureSite) -> None:
    page = get(site.url + "/render/riding-to-edale-in-the-rain")[2].decode()
    assert '<div id="app"></div>' in page
    assert "Ladybower" not in page  # the text only exists inside the base64 payload
    payload = base64.b64decode(re.search(r"atob\('([^']+)'\)", page)[1]).decode("utf-8")
    assert "Ladybower" in payload


def test_linkedin_export_layout(site: FixtureSite, tmp_path: Path) -> None:
    served = get(site.url + "/linkedin/export.zip")[2]
    built = build_linkedin_export(default_corpus_dir(), tmp_path / "export.zip").read_bytes()
    assert built == build_linkedin_export(default_corpus_dir(), tmp_path / "again.zip").read_bytes()
    for data in (served, built):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            shares = archive.read("Shares.csv").decode("utf-8")
            articles = [n for n in archive.namelist() if n.startswith("Articles/Articles/") and n.endswith(".html")]
        rows = list(csv.DictReader(io.StringIO(shares, newline="")))
        assert shares.splitlines()[0] == "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility"
        assert len(rows) == 22
        assert any("\n" in r["ShareCommentary"] for r in rows) and any(r["SharedUrl"] for r in rows)
        assert len(articles) == 3


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_build_git_repo_is_one_deterministic_commit(tmp_path: Path) -> None:
    heads = []
    for name in ("one", "two"):
        repo = build_git_repo(default_corpus_dir(), tmp_path / name)
        log = subprocess.run(["git", "log", "--format=%H %an"], cwd=repo, capture_output=True, text=True, check=True)
        assert len(log.stdout.splitlines()) == 1 and "Ysolde Brannagh" in log.stdout
        heads.append(log.stdout.split()[0])
    assert heads[0] == heads[1]
    source = default_corpus_dir() / "repo"
    expected = {
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and not {"__pycache__", ".pytest_cache", ".ruff_cache"} & set(p.parts)
    }
    tracked = subprocess.run(["git", "ls-files"], cwd=tmp_path / "one", capture_output=True, text=True, check=True)
    assert set(tracked.stdout.splitlines()) == expected
    assert {"poetry.lock", "assets/logo.png", "tests/data/deliveries.tsv"} <= expected
    for rel in expected:
        blob = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=tmp_path / "one", capture_output=True, check=True)
        assert blob.stdout == (source / rel).read_bytes(), rel
    assert b"\t\n" in (source / "tests/data/deliveries.tsv").read_bytes()  # meaningful trailing tabs


def test_delay_hits_and_clean_stop(corpus: Path) -> None:
    site = FixtureSite(corpus, delay=0.2).start()
    port = int(site.url.rsplit(":", 1)[1])
    started = time.perf_counter()
    assert get(site.url + "/robots.txt")[0] == 200
    assert time.perf_counter() - started >= 0.2
    get(site.url + "/robots.txt")
    assert site.hits["/robots.txt"] == 2
    site.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"author\.yaml"):
        FixtureSite(tmp_path)
    with pytest.raises(ValueError, match="loopback"):
        FixtureSite(host="0.0.0.0")
    with pytest.raises(RuntimeError, match="start"):
        _ = FixtureSite().url


def test_cli_prints_url_and_serves() -> None:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "twin_core.demo.fixture_site", "--port", "0"]
    with subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())[0]
            assert get(url + "/robots.txt")[0] == 200
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err

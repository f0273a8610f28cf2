"""Article extraction and wall detection on hand-written pages and the fixture site's fault pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin_core.crawl.extract import ExtractRules, detect_wall, extract_article, merge_tags, parse_date, tidy_markdown
from twin_core.demo import fixture_faults as faults

CODE = 'def f(x):\n    """Doc."""\n\n\n    return  x  *  2\n'
PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Idempotent Pipelines | Ysolde's blog</title>
<meta property="og:type" content="article">
<meta property="og:description" content="Why reruns should be boring">
<meta property="article:published_time" content="2025-03-04T10:30:00Z">
<meta property="article:tag" content="pipelines">
<link rel="canonical" href="/blog/idempotent.html">
</head><body><header class="site-header"><nav><a href="/">Home</a></nav></header>
<main><article><h1>Idempotent Pipelines</h1><p class="subtitle">Why reruns should be boring</p>
<div class="e-content"><p>Run it twice, get the same rows. That is the <em>whole</em> idea, and snake_case stays.</p>
<pre><code class="language-python">{CODE}</code></pre>
<ul><li>one</li><li>two</li></ul>
<form><input type="email"><button>Subscribe</button></form>
</div><p>Tags: <a rel="tag" href="/blog/tags/sql.html">sql</a></p></article></main>
<footer>© me</footer></body></html>"""


def test_extracts_title_subtitle_date_tags_and_canonical() -> None:
    art = extract_article(PAGE, "http://blog.example/blog/idempotent.html?utm_source=x")
    assert art.title == "Idempotent Pipelines"
    assert art.subtitle == "Why reruns should be boring"
    assert art.published == datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
    assert art.tags == ["pipelines", "sql"]
    assert art.canonical == "http://blog.example/blog/idempotent.html"


def test_code_block_keeps_language_and_exact_whitespace() -> None:
    md = extract_article(PAGE, "http://blog.example/x").markdown
    assert f"```python\n{CODE}```" in md
    assert "snake_case" in md and "*whole*" in md
    assert "- one\n- two" in md
    assert "Subscribe" not in md and "Home" not in md and "© me" not in md


def test_selectors_for_a_site_layout() -> None:
    rules = ExtractRules(title=("h1",), subtitle=("p.subtitle",), body=("article",), strip=(".e-content ul",))
    art = extract_article(PAGE, "http://blog.example/x", rules)
    assert art.subtitle == "Why reruns should be boring"
    assert "Idempotent Pipelines" not in art.markdown  # the title element is not repeated in the body
    assert "- one" not in art.markdown and "Run it twice" in art.markdown


def test_malformed_html_still_yields_the_article_sentence() -> None:
    art = extract_article(faults.malformed(), "http://x/faults/malformed")
    assert faults.MALFORMED_SENTENCE in art.markdown
    assert "alert(1)" not in art.markdown


def test_tidy_markdown_leaves_code_alone() -> None:
    md = "Intro   \n\n\n\nText\n```\nline  \n\n\n\nend\n```\n\n\n"
    assert tidy_markdown(md) == "Intro\n\nText\n```\nline  \n\n\n\nend\n```\n"


@pytest.mark.parametrize(
    ("html", "headers", "reason"),
    [
        (faults.botwall("example.com"), {}, "bot wall (Cloudflare challenge)"),
        ("<html><body>Checking...</body></html>", {"CF-Mitigated": "challenge"}, "bot wall (Cloudflare challenge)"),
        ('<div class="g-recaptcha" data-sitekey="x"></div>', {}, "captcha (human verification)"),
        (
            '<div class="paywall" data-testid="paywall"><h2>Member-only story</h2></div>',
            {},
            "paywall: member-only story",
        ),
        (
            '<script>window.__APOLLO_STATE__ = {"Post:x": {"isLocked": true}};</script>',
            {},
            "paywall: member-only story",
        ),
        ('<div class="paywall"><h2>This post is for paid subscribers</h2></div>', {}, "paywall: subscriber-only post"),
    ],
)
def test_walls_are_recognised(html: str, headers: dict[str, str], reason: str) -> None:
    assert detect_wall(html, headers) == reason


def test_an_article_about_captchas_is_not_a_wall() -> None:
    html = PAGE.replace("Run it twice", "We added a captcha and a Cloudflare challenge and a paywall. Run it twice")
    assert detect_wall(html) is None
    assert detect_wall('<script>{"isLocked": false}</script><p>Member-only story? No.</p>') is None


def test_parse_date_and_merge_tags() -> None:
    assert parse_date("Tue, 04 Mar 2025 10:30:00 GMT") == datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
    assert parse_date("2025-03-04") == datetime(2025, 3, 4, tzinfo=UTC)
    assert parse_date("not a date") is None
    assert merge_tags(["SQL", "rag"], ["sql", "LLM", " "]) == ["SQL", "rag", "LLM"]

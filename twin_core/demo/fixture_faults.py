"""Deliberately awkward pages under /faults/ for crawler tests: bot walls, paywalls,
broken markup, legacy encodings, binaries, huge and flaky responses."""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

HUGE_SIZE = 20 * 1024 * 1024
SLOW_SECONDS = 5.0
MALFORMED_SENTENCE = (
    "Even on a page this broken, a careful extractor should still find the sentence about idempotent pipelines."
)
LATIN1_TEXT = (
    "Notes from the café by Edale station: the crème brûlée costs £4.50, and my friend from Zürich "
    "insists it is the best in the Peak District. Boring is a feature, even in pudding."
)
FLAKY_TEXT = "This page fails once and then works. Retry with backoff and you will read it."
SLOW_TEXT = "This page took its time. A crawler with a short timeout should give up before reading this."


def small_article(title: str, text: str) -> str:
    """A minimal but well-formed article page, used by flaky/slow and the private page."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{escape(title)}</title></head><body><header><nav><a href="/">Home</a></nav></header>'
        f"<main><article><h1>{escape(title)}</h1><p>{escape(text)}</p>"
        "<p>Ask me how I know.</p></article></main><footer>© fixture site</footer></body></html>\n"
    )


def not_found(path: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>404 Not Found</title></head>'
        f"<body><h1>Page not found</h1><p>Nothing lives at {escape(path)}.</p>"
        '<p><a href="/">Go home</a></p></body></html>\n'
    )


def server_error() -> str:
    return (
        "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>"
        "<body><h1>Internal Server Error</h1><p>Something went wrong. Please try again.</p></body></html>\n"
    )


def botwall(host: str) -> str:
    """A Cloudflare-style interstitial: no article, only a JavaScript/captcha challenge."""
    return (
        '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
        '<meta http-equiv="X-UA-Compatible" content="IE=Edge"><meta name="robots" content="noindex,nofollow">'
        "<style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15}</style></head>"
        '<body class="no-js"><div class="main-wrapper" role="main"><div class="main-content">'
        f'<h1 class="zone-name-title h1">{escape(host)}</h1>'
        '<h2 id="challenge-running" class="h2">Checking your browser before accessing '
        f"{escape(host)}.</h2>"
        '<div id="challenge-stage"><p>Verify you are human by completing the action below.</p>'
        '<div class="cf-turnstile" data-sitekey="0x4AAAAAAADnPIDROrmt1Wwj"></div></div>'
        f'<div id="challenge-body-text" class="core-msg spacer">{escape(host)} needs to review the security of '
        "your connection before proceeding.</div>"
        '<noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to '
        "continue</span></div></noscript></div></div>"
        "<script>(function(){window._cf_chl_opt={cvId:'3',cZone:'fixture',cType:'managed',cRay:'8f1c2b3a4d5e6f70'};"
        "var a=document.createElement('script');a.src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"
        "?ray=8f1c2b3a4d5e6f70';document.getElementsByTagName('head')[0].appendChild(a);}());</script>"
        '<div class="footer" role="contentinfo"><div class="footer-inner"><div class="clearfix diagnostic-wrapper">'
        '<div class="ray-id">Ray ID: <code>8f1c2b3a4d5e6f70</code></div></div>'
        '<div class="text-center" id="footer-text">Performance &amp; security by '
        '<a rel="noopener noreferrer" href="https://www.cloudflare.com">Cloudflare</a></div></div></div>'
        "</body></html>\n"
    )


BOTWALL_HEADERS = {
    "Server": "cloudflare",
    "cf-mitigated": "challenge",
    "Cache-Control": "private, max-age=0, no-store, no-cache, must-revalidate",
}


def malformed() -> str:
    """Unclosed tags, stray closers and junk, but one real article paragraph survives."""
    return (
        "<html><head><title>Half a page</title><body>\n<div class=content><p>Intro text <b>bold <i>nested</b> "
        "wrong</i>\n<table><tr><td>cell<td>another<div>unclosed div\n</span></span></font>"
        "<<<>>> &nbsp &amp;amp; &#xZZ; garbage\n<article><h1>Malformed but readable\n"
        f"<p>{MALFORMED_SENTENCE}\n<p>Second paragraph with an <a href='/blog/'>unquoted link</a "
        "and a <img src=x onerror=alert(1) broken image\n<script>var x = '</div>';</script>\n"
        "<!-- an unterminated comment that a lax parser will swallow ... "
    )


def latin1_bytes() -> bytes:
    page = (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="iso-8859-1">'
        "<title>Caf\u00e9 notes</title></head><body><main><article><h1>Caf\u00e9 notes</h1>"
        f"<p>{escape(LATIN1_TEXT)}</p></article></main></body></html>\n"
    )
    return page.encode("iso-8859-1")


def binary_bytes() -> bytes:
    header = b"PK\x03\x04\x14\x00\x00\x00\x08\x00"  # looks like the start of a zip file
    return header + bytes((i * 31 + 7) % 256 for i in range(4096))


def huge_chunks(chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Exactly HUGE_SIZE bytes of valid-looking HTML, produced lazily."""
    head = b"<!DOCTYPE html><html><head><title>Huge</title></head><body><article>"
    tail = b"</article></body></html>\n"
    para = b"<p>This page is twenty megabytes on purpose; a crawler should stop reading long before the end.</p>\n"
    body_size = HUGE_SIZE - len(head) - len(tail)
    filler = para * (chunk_size // len(para) + 1)
    yield head
    remaining = body_size
    while remaining > 0:
        piece = filler[: min(chunk_size, remaining)]
        remaining -= len(piece)
        yield piece
    yield tail

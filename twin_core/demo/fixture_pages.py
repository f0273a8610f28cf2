"""HTML and feed templates that imitate Medium, Substack and a personal blog closely enough
that a real extractor has to strip navigation, widgets and footers to find the article."""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from html import escape
from typing import Any

from twin_core.demo.fixture_corpus import Doc, render_markdown

STYLE = "<style>body{font-family:sans-serif;margin:0}.hidden{display:none}pre{background:#f4f4f4}</style>"
SVG = '<svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 12h18"></path></svg>'


def _nice(doc: Doc) -> str:
    when = doc.published
    return f"{when:%b} {when.day}, {when.year}"  # "Sep 9, 2025", without the non-portable %-d


def read_minutes(doc: Doc) -> int:
    return max(1, math.ceil(doc.words / 265))


def paragraphs(doc: Doc, n: int) -> str:
    return "".join(re.findall(r"<p>.*?</p>\n", render_markdown(doc.body), re.S)[:n])


def _doc(head: str, body: str, lang: str = "en") -> str:
    return f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n{head}\n</head>\n{body}\n</html>\n'


def _meta(doc: Doc, url: str, author: dict[str, Any], site: str) -> str:
    ld = {
        "@context": "http://schema.org",
        "@type": "NewsArticle",
        "headline": doc.title,
        "description": doc.subtitle,
        "datePublished": doc.published.isoformat(),
        "author": {"@type": "Person", "name": author["full_name"]},
        "publisher": {"@type": "Organization", "name": site},
        "url": url,
    }
    return (
        f'<meta name="viewport" content="width=device-width,initial-scale=1">\n'
        f'<meta name="description" content="{escape(doc.subtitle)}">\n'
        f'<meta name="author" content="{escape(author["full_name"])}">\n'
        f'<meta property="og:type" content="article">\n<meta property="og:site_name" content="{escape(site)}">\n'
        f'<meta property="og:title" content="{escape(doc.title)}">\n'
        f'<meta property="og:description" content="{escape(doc.subtitle)}">\n<meta property="og:url" content="{url}">\n'
        f'<meta property="article:published_time" content="{doc.published.isoformat()}">\n'
        f'<link rel="canonical" href="{url}">\n'
        f'<script type="application/ld+json">{json.dumps(ld)}</script>\n{STYLE}'
    )


# --------------------------------------------------------------------------- Medium


def _medium_bar() -> str:
    return (
        '<div class="metabar" role="banner"><nav aria-label="top navigation">'
        f'<a href="/" aria-label="Homepage">{SVG}Medium</a>'
        '<div class="search"><input type="text" placeholder="Search" aria-label="search"></div>'
        f'<a href="/new-story" rel="noopener">{SVG}Write</a>'
        '<a href="/m/signin?operation=register" class="signup">Sign up</a> <a href="/m/signin">Sign in</a>'
        "</nav></div>\n"
        '<div class="banner" role="complementary">Get unlimited access to the best of Medium for less than '
        '$1/week. <a href="/plans">Become a member</a></div>\n'
    )


_MEDIUM_FOOTER = (
    '<footer class="site-footer"><nav><a href="/help">Help</a> <a href="/status">Status</a> '
    '<a href="/about">About</a> <a href="/jobs">Careers</a> <a href="/press">Press</a> <a href="/blog">Blog</a> '
    '<a href="/privacy">Privacy</a> <a href="/rules">Rules</a> <a href="/terms">Terms</a> '
    '<a href="/speechify">Text to speech</a></nav></footer>\n'
)
_RECOMMENDED = [
    ("Marta Quillfeather", "The Quiet Cost of Microservices Nobody Measures"),
    ("Devon Ashgrove", "I Replaced My Morning Routine With a Spreadsheet. Here's What Happened"),
    ("Priya Tallowmere", "Ten Prompts That Will Change How You Think About Prompts"),
]


def medium_article(doc: Doc, author: dict[str, Any], base: str, others: list[Doc], member_only: bool = False) -> str:
    handle = author["handle"]
    url = f"{base}/medium/@{handle}/{doc.slug}"
    body = render_markdown(doc.body).replace("<p>", '<p class="pw-post-body-paragraph">')
    if member_only:
        body = paragraphs(doc, 2).replace("<p>", '<p class="pw-post-body-paragraph">') + (
            '<div class="paywall" data-testid="paywall"><h2>Member-only story</h2>'
            "<p>The author made this story available to Medium members only.</p>"
            "<p>If you're new to Medium, create a new account to read this story on us.</p>"
            '<a href="/m/signin?operation=register">Continue in app</a> <a href="/m/signin">Or, continue in '
            'mobile web</a> <button>Sign up with Google</button> <p>Already have an account? <a href="/m/signin">'
            "Sign in</a></p></div>"
        )
    badge = '<div class="member-badge">' + SVG + "Member-only story</div>" if member_only else ""
    tags = "".join(f'<a href="/tag/{t}" rel="noopener">{escape(t.replace("-", " ").title())}</a> ' for t in doc.tags)
    more = "".join(
        f'<div class="more"><a href="/medium/@{handle}/{o.slug}?source=author_recirc"><h2>{escape(o.title)}</h2>'
        f"<h3>{escape(o.subtitle)}</h3></a><span>{_nice(o)}</span> · <span>{read_minutes(o)} min read</span></div>"
        for o in others[:3]
    )
    recs = "".join(
        f'<div class="rec"><a href="/@someone/story-{i}"><p>{escape(who)}</p><h2>{escape(title)}</h2></a>'
        f"<span>{100 * (i + 2)} claps</span></div>"
        for i, (who, title) in enumerate(_RECOMMENDED)
    )
    state = {"Post:" + doc.slug: {"title": doc.title, "clapCount": 312, "isLocked": member_only}}
    head = (
        f"<title>{escape(doc.title)} | by {escape(author['full_name'])} | {doc.published:%b %Y} | Medium</title>\n"
        + _meta(doc, url, author, "Medium")
        + f'\n<meta property="article:author" content="{base}/medium/@{handle}">'
        + f"\n<script>window.__APOLLO_STATE__ = {json.dumps(state)};</script>"
    )
    page = (
        '<body><div id="root"><div class="a b c">\n'
        + _medium_bar()
        + f'<article><div class="l"><section><div class="gn go">{badge}\n'
        f'<h1 id="{doc.slug[:8]}" class="pw-post-title" data-testid="storyTitle">{escape(doc.title)}</h1>\n'
        f'<h2 class="pw-subtitle-paragraph">{escape(doc.subtitle)}</h2>\n'
        f'<div class="pw-author"><a data-testid="authorName" href="/medium/@{handle}">'
        f"{escape(author['full_name'])}</a> · <button>Follow</button></div>\n"
        f'<div class="meta"><span data-testid="storyReadTime">{read_minutes(doc)} min read</span> · '
        f'<span data-testid="storyPublishDate">{_nice(doc)}</span></div>\n'
        f'<div class="actions"><button data-testid="headerClapButton" aria-label="clap">{SVG}312</button>'
        f'<button aria-label="responses">{SVG}7</button><button aria-label="Add to list">Save</button>'
        f'<button data-testid="audioPlayButton">{SVG}Listen</button><button>{SVG}Share</button></div>\n'
        f'<div class="body">{body}</div>\n</div></section></div>\n'
        f'<div class="tags">{tags}</div>\n'
        f'<div class="footer-actions"><button aria-label="clap">{SVG}312</button><button>Follow</button></div>'
        "</article>\n"
        f'<div class="written-by"><h2>Written by {escape(author["full_name"])}</h2><span>1.2K Followers</span>'
        f"<p>{escape(author.get('bio', ''))}</p><button>Follow</button></div>\n"
        f'<div class="more-from"><h2>More from {escape(author["full_name"])}</h2>{more}</div>\n'
        f'<div class="recommended"><h2>Recommended from Medium</h2>{recs}<a href="/">See more recommendations</a></div>'
        "\n</div></div>\n" + _MEDIUM_FOOTER + "<noscript>Enable JavaScript for the best experience.</noscript></body>"
    )
    return _doc(head, page)


def medium_profile(docs: list[Doc], author: dict[str, Any], base: str) -> str:
    handle, name = author["handle"], escape(author["full_name"])
    cards = "".join(
        f'<article class="profile-card"><a href="/medium/@{handle}/{d.slug}?source=user_profile_page">'
        f"<h2>{escape(d.title)}</h2><h3>{escape(d.subtitle)}</h3></a><span>{_nice(d)}</span> · "
        f"<span>{read_minutes(d)} min read</span></article>\n"
        for d in docs
    )
    head = (
        f"<title>{name} – Medium</title>\n{STYLE}\n"
        f'<link rel="alternate" type="application/rss+xml" title="RSS" href="{base}/medium/feed/@{handle}">'
    )
    body = (
        f'<body>{_medium_bar()}<main><div class="profile"><h1>{name}</h1><p>1.2K Followers</p>'
        f'<p class="bio">{escape(author.get("bio", ""))}</p><button>Follow</button></div>\n'
        f'<nav class="tabs"><a href="/medium/@{handle}">Home</a> <a href="/medium/@{handle}/about">About</a></nav>\n'
        f"{cards}</main>{_MEDIUM_FOOTER}</body>"
    )
    return _doc(head, body)


# --------------------------------------------------------------------------- Substack

_SUBSCRIBE = (
    '<div class="subscription-widget-wrap-editor" data-component-name="SubscribeWidgetToDOM">'
    '<div class="subscription-widget show-subscribe"><div class="preamble"><p class="cta-caption">Thanks for '
    "reading {name}! Subscribe for free to receive new posts and support my work.</p></div>"
    '<form class="subscription-widget-subscribe"><input type="email" name="email" placeholder="Type your email…">'
    '<input type="submit" value="Subscribe"></form></div></div>'
)


def substack_article(doc: Doc, author: dict[str, Any], base: str) -> str:
    pub = escape(author.get("newsletter", "Newsletter"))
    url = f"{base}/substack/p/{doc.slug}"
    widget = _SUBSCRIBE.format(name=pub)
    body, cut = render_markdown(doc.body), -1
    for _ in range(4):  # Substack drops a subscribe widget into the body after a few paragraphs
        cut = body.find("</p>\n", cut + 1)
        if cut < 0:
            break
    if cut >= 0:
        body = body[: cut + 5] + widget + body[cut + 5 :]
    body += widget
    head = f"<title>{escape(doc.title)} - by {escape(author['full_name'])}</title>\n" + _meta(doc, url, author, pub)
    page = (
        '<body><div id="entry"><div id="main" class="main typography">\n'
        f'<div class="topbar"><a class="navbar-title-link" href="/substack/">{pub}</a>'
        '<button class="button primary subscribe-btn">Subscribe</button><a href="/sign-in">Sign in</a></div>\n'
        '<div class="single-post-container"><div class="container"><div class="single-post">'
        '<article class="typography newsletter-post post">\n'
        f'<div class="post-header"><h1 class="post-title published">{escape(doc.title)}</h1>\n'
        f'<h3 class="subtitle">{escape(doc.subtitle)}</h3>\n'
        f'<div class="post-meta"><a class="pencraft frontend-pencraft-Text-module__decoration-hover-underline" '
        f'href="/substack/">{escape(author["full_name"])}</a><div class="pencraft pc-reset">{_nice(doc)}</div>'
        '<button class="like-button">♡ 24</button><button class="comment-button">💬 5</button>'
        '<button class="share-button">Share</button></div></div>\n'
        f'<div class="available-content"><div dir="auto" class="body markup">{body}</div></div>\n'
        '<div class="post-footer"><button>Like</button><button>Comment</button><button>Restack</button>'
        "<button>Share</button></div></article>\n"
        '<div class="comments-section"><h4>Discussion about this post</h4><div class="comment-list">'
        "<p>No comments yet. Be the first to share what you think!</p></div></div>\n"
        "</div></div></div>\n"
        f'<div class="footer-wrap publication-footer"><div class="footer">© 2026 {escape(author["full_name"])} · '
        '<a href="/privacy">Privacy</a> ∙ <a href="/tos">Terms</a> ∙ <a href="/ccpa">Collection notice</a>'
        ' <a href="/start">Start writing</a> <a href="/app">Get the app</a> Substack is the home for great '
        "culture</div></div></div></div></body>"
    )
    return _doc(head, page)


def listing_page(docs: list[Doc], title: str, feed_url: str, feed_type: str, href: Callable[[Doc], str]) -> str:
    """A plain index page (Substack home, blog index) listing every post."""
    items = "".join(
        f'<li><a class="post-preview-title" href="{href(d)}">{escape(d.title)}</a> '
        f'<time datetime="{d.published.isoformat()}">{_nice(d)}</time><p>{escape(d.subtitle)}</p></li>\n'
        for d in docs
    )
    head = f'<title>{escape(title)}</title>\n{STYLE}\n<link rel="alternate" type="{feed_type}" href="{feed_url}">'
    return _doc(head, f"<body><header><h1>{escape(title)}</h1></header><main><ul>\n{items}</ul></main></body>")


# --------------------------------------------------------------------------- personal blog


def blog_article(doc: Doc, author: dict[str, Any], base: str, recent: list[Doc]) -> str:
    url = f"{base}/blog/{doc.slug}.html"
    tags = ", ".join(f'<a rel="tag" href="/blog/tags/{t}.html">{escape(t)}</a>' for t in doc.tags)
    recent_html = "".join(f'<li><a href="/blog/{r.slug}.html">{escape(r.title)}</a></li>' for r in recent[:5])
    cloud = " ".join(sorted({f'<a href="/blog/tags/{t}.html">#{t}</a>' for r in recent for t in r.tags}))
    head = f"<title>{escape(doc.title)} · {escape(author['full_name'])}</title>\n" + _meta(doc, url, author, "blog")
    page = (
        '<body class="post">\n<header class="site-header"><a class="site-title" href="/blog/">'
        f'{escape(author.get("site_title", author["full_name"]))}</a><nav><a href="/blog/">Writing</a> '
        '<a href="/blog/about.html">About</a> <a href="/blog/feed.xml">Feed</a></nav></header>\n'
        '<div class="layout"><main><article class="h-entry">\n'
        f'<header><h1 class="p-name">{escape(doc.title)}</h1><p class="subtitle">{escape(doc.subtitle)}</p>'
        f'<p class="meta"><time class="dt-published" datetime="{doc.published.isoformat()}">'
        f"{doc.published.day} {doc.published:%B %Y}</time> · {tags}</p></header>\n"
        f'<div class="e-content">{render_markdown(doc.body)}</div>\n'
        '<footer class="post-footer"><p>Thanks for reading. Comments? Email me.</p></footer>\n'
        "</article></main>\n"
        f'<aside class="sidebar"><section class="about"><h2>About me</h2><p>{escape(author.get("bio", ""))}</p>'
        f'</section><section class="recent"><h2>Recent posts</h2><ul>{recent_html}</ul></section>'
        f'<section class="tag-cloud"><h2>Tags</h2>{cloud}</section><section class="newsletter"><h2>Newsletter</h2>'
        f"<p>Get {escape(author.get('newsletter', 'the newsletter'))} in your inbox.</p>"
        '<form><input type="email" placeholder="you@example.com"><button>Subscribe</button></form></section></aside>'
        f'</div>\n<footer class="site-footer">© 2026 {escape(author["full_name"])} · Built with a Makefile and '
        'stubbornness · <a href="/blog/feed.xml">Atom</a></footer>\n</body>'
    )
    return _doc(head, page, lang="en-GB")


# --------------------------------------------------------------------------- JS-only page


def js_rendered(doc: Doc) -> str:
    """Static HTML holds an empty #app; the article arrives only when the inline script runs."""
    payload = json.dumps({"title": doc.title, "html": render_markdown(doc.body)})
    blob = base64.b64encode(payload.encode("utf-8")).decode("ascii")
    script = (
        "(function(){var b=atob('" + blob + "');var u=new Uint8Array(b.length);"
        "for(var i=0;i<b.length;i++){u[i]=b.charCodeAt(i);}"
        "var d=JSON.parse(new TextDecoder('utf-8').decode(u));document.title=d.title;"
        "var app=document.getElementById('app');var a=document.createElement('article');"
        "var h=document.createElement('h1');h.textContent=d.title;a.appendChild(h);"
        "var c=document.createElement('div');c.className='content';c.innerHTML=d.html;a.appendChild(c);"
        "app.appendChild(a);app.setAttribute('data-ready','1');})();"
    )
    return _doc(
        "<title>Loading…</title>",
        '<body><div id="app"></div><noscript>You need to enable JavaScript to run this app.</noscript>\n'
        f"<script>{script}</script></body>",
    )

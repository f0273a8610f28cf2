"""Cleaners: boilerplate goes; code blocks, inline code, URLs, punctuation, apostrophes and emoji stay."""

from __future__ import annotations

import pytest

from twin_core.domain import ArticleDocument, PostDocument, RepositoryDocument
from twin_core.features.cleaning import clean_document, clean_prose, is_boilerplate, normalize_unicode
from twin_core.features.settings import CleaningSettings

S = CleaningSettings()
AUTHOR = {"author_id": "a-1", "author_name": "Ysolde Brannagh"}

ARTICLE_BODY = """Sign up
Sign in
Follow

# Backfills   are   easy

It’s the part nobody  puts on the slide — I've done dozens.
Read [the 3 a.m. test](https://medium.com/@ysoldebuilds/the-3am-test?source=x&utm=1) first.
Call `now()  inside` never.

```python
def run(day):  # keep   these   spaces
    return   day


```

👏 312
Share
Listen


*Originally published at [plumbing.example](https://plumbing.example/backfills) on 4 Nov 2025.*
"""

ARTICLE_EXPECTED = """A guide: “quotes” stay.

# Backfills are easy

It’s the part nobody puts on the slide — I've done dozens.
Read [the 3 a.m. test](https://medium.com/@ysoldebuilds/the-3am-test?source=x&utm=1) first.
Call `now()  inside` never.

```python
def run(day):  # keep   these   spaces
    return   day


```"""


def test_article_cleaner_hand_checked() -> None:
    raw = ArticleDocument(
        platform="medium",
        link="https://medium.com/@y/backfills",
        title="  Backfills:\u00a0the   part ",
        content={"body": ARTICLE_BODY, "subtitle": "A guide: “quotes” stay."},
        **AUTHOR,
    )
    cleaned = clean_document(raw, S)
    assert cleaned.content == ARTICLE_EXPECTED
    assert cleaned.title == "Backfills: the part"
    assert cleaned.id == raw.id and cleaned.raw_content_hash == raw.content_hash
    assert cleaned.metadata["cleaner"] == "article"


def test_post_cleaner_keeps_emoji_hashtags_and_line_breaks() -> None:
    text = (
        "Gerald turned seven.\u00a0🍞\r\n→ store the model revision\r\n→ keep 200 “canary” texts\n\n\n\n"
        "👩\u200d💻 #embeddings #mlops\nhttps://medium.com/@y/x\n…see more\nLike\nComment\nRepost\n12 reactions\n"
    )
    raw = PostDocument(platform="linkedin", link="https://linkedin.com/p/1", content={"text": text}, **AUTHOR)
    assert clean_document(raw, S).content == (
        "Gerald turned seven. 🍞\n→ store the model revision\n→ keep 200 “canary” texts\n\n"
        "👩\u200d💻 #embeddings #mlops\nhttps://medium.com/@y/x"
    )


def test_code_cleaner_keeps_files_byte_for_byte_under_headers() -> None:
    files = {
        "src/b.py": "def f():\r\n\treturn  1   \n\n\n",
        "README.md": "# Tool\n\nUse   it.",
        "poetry.lock": "[[package]]\n",
        "logo.png": "\x89PNG\x00\x00",
        "empty.txt": "  \n",
    }
    raw = RepositoryDocument(platform="github", link="https://github.com/y/tool", content=files, **AUTHOR)
    cleaned = clean_document(raw, S)
    assert cleaned.content == (
        "==> README.md <==\n# Tool\n\nUse   it.\n\n==> src/b.py <==\ndef f():\r\n\treturn  1   \n\n\n"
    )
    spans = cleaned.metadata["files"]
    assert [f["path"] for f in spans] == ["README.md", "src/b.py"]
    for f in spans:
        assert cleaned.content[f["start"] : f["end"]] == files[f["path"]]


def test_unicode_normalisation_keeps_meaning() -> None:
    text = "ﬁne\u00a0x²\u200b ＡＢＣ１ it’s “q” café\u00ad 👍🏽 e\u0301"
    assert normalize_unicode(text) == "fine x² ABC1 it’s “q” café 👍🏽 é"


def test_whitespace_collapses_outside_code_only() -> None:
    text = "a  \t b   `x   y`  c   \n\n\n\n    indented   code\n\td"
    assert clean_prose(text, S) == "a b `x   y` c\n\n    indented   code\n\td"


def test_unclosed_fence_protects_the_rest() -> None:
    text = "intro\n```\nFollow\nSign up\n  spaced   out"
    assert clean_prose(text, S) == text


@pytest.mark.parametrize(
    "line",
    [
        "Follow",
        "Sign up",
        "**Subscribe now**",
        "[Share](https://x.example/share)",
        "Share this post",
        "1.2K Followers",
        "👏 312",
        "5 min read",
        "Originally published at https://blog.example/post on May 3.",
        "_Originally published at [blog.example](https://blog.example)._",
        "Thanks for reading Plumbing Notes! Subscribe for free to receive new posts and support my work.",
        "…see more",
        "Type your email…",
        "Recommended from Medium",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "Follow the data, not the dashboard.",
        "I signed up for on-call in 2019.",
        "Share your runbooks with the team — it's free.",
        "Thanks for reading this far, it means a lot.",
        "312",
        "```",
        "",
    ],
)
def test_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


def test_boilerplate_kept_when_disabled_and_extra_patterns_apply() -> None:
    keep = CleaningSettings(strip_boilerplate=False)
    assert clean_prose("Hello there.\nFollow", keep) == "Hello there.\nFollow"
    extra = CleaningSettings(extra_boilerplate=[r"buy me a coffee.*"])
    assert clean_prose("Hello there.\nBuy me a coffee ☕", extra) == "Hello there."

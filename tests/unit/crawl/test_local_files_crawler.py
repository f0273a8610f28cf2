"""Local files: Markdown front matter, HTML to Markdown, text, folders, and PDF/DOCX extraction or a clear failure."""

from __future__ import annotations

import asyncio
import importlib.util
import zipfile
from pathlib import Path

import pytest

from twin_core.crawl.base import CrawlContext, CrawlFailure
from twin_core.crawl.crawlers.local_files import LocalFilesCrawler
from twin_core.crawl.settings import CrawlSettings, LinkSpec
from twin_core.domain.documents import ArticleDocument, Author, PostDocument, RawDocument

LONG_BODY = "A sentence about pipelines that keeps going. " * 40
MARKDOWN = f"""---
title: "Boring is a feature"
subtitle: Why quiet pipelines win
date: 2025-01-29
tags: [data, ops]
---

# Ignored heading

{LONG_BODY}
"""
HTML = """<!doctype html><html><head><title>Hello page</title>
<meta property="article:published_time" content="2025-03-04T05:06:07Z"><script>alert(1)</script></head>
<body><nav>Home | About</nav><article><h1>Hello page</h1><p>Some <em>text</em> and a
<a href="https://example.org">link</a>.</p><pre><code class="language-sql">select 1;</code></pre>
</article></body></html>"""


@pytest.fixture
def ctx(tmp_path: Path) -> CrawlContext:
    return CrawlContext(CrawlSettings(), Author(full_name="Jane Doe"), fetcher=None, work_dir=tmp_path / "work")


def crawl(url: str, ctx: CrawlContext, **fields: int) -> list[RawDocument]:
    return asyncio.run(LocalFilesCrawler(**fields).crawl(LinkSpec(url=url), ctx))


def test_markdown_front_matter_makes_an_article(tmp_path: Path, ctx: CrawlContext) -> None:
    path = tmp_path / "boring.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    (doc,) = crawl(str(path), ctx)
    assert isinstance(doc, ArticleDocument) and doc.platform == "local" and doc.link == path.as_uri()
    assert doc.title == "Boring is a feature" and doc.content["subtitle"] == "Why quiet pipelines win"
    assert doc.content["body"].startswith("# Ignored heading\n\nA sentence") and "---" not in doc.content["body"]
    assert doc.published_at.isoformat() == "2025-01-29T00:00:00+00:00" and doc.metadata["tags"] == ["data", "ops"]


def test_html_becomes_markdown_without_chrome(tmp_path: Path, ctx: CrawlContext) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML, encoding="utf-8")
    (doc,) = crawl(path.as_uri(), ctx)
    assert isinstance(doc, PostDocument), "a short file is a post"
    text = doc.content["text"]
    assert doc.title == "Hello page" and doc.published_at.isoformat() == "2025-03-04T05:06:07+00:00"
    assert "Some *text* and a\n[link](https://example.org)." in text and "```sql\nselect 1;\n```" in text
    assert "alert" not in text and "Home | About" not in text


def test_folder_is_read_recursively_skipping_hidden_and_unsupported(tmp_path: Path, ctx: CrawlContext) -> None:
    (tmp_path / "notes" / "deep").mkdir(parents=True)
    (tmp_path / "notes" / ".hidden").mkdir()
    (tmp_path / "notes" / "a.txt").write_bytes("caf\xe9 in cp1252\r\n".encode("cp1252"))
    (tmp_path / "notes" / "deep" / "b.md").write_text("# Short note\n\nJust a line.\n", encoding="utf-8")
    (tmp_path / "notes" / ".hidden" / "c.md").write_text("secret", encoding="utf-8")
    (tmp_path / "notes" / "image.png").write_bytes(b"\x89PNG")
    docs = {d.metadata["file_name"]: d for d in crawl(str(tmp_path / "notes"), ctx)}
    assert sorted(docs) == ["a.txt", "b.md"]
    assert docs["a.txt"].content["text"] == "café in cp1252" and docs["a.txt"].title == "a"
    assert docs["b.md"].title == "Short note"
    again = {d.id for d in crawl(str(tmp_path / "notes"), ctx)}
    assert again == {d.id for d in docs.values()}


def test_long_text_is_an_article_and_front_matter_can_force_a_post(tmp_path: Path, ctx: CrawlContext) -> None:
    (tmp_path / "long.txt").write_text(LONG_BODY, encoding="utf-8")
    (tmp_path / "forced.md").write_text(MARKDOWN.replace("tags:", "category: post\ntags:"), encoding="utf-8")
    assert isinstance(crawl(str(tmp_path / "long.txt"), ctx)[0], ArticleDocument)
    assert isinstance(crawl(str(tmp_path / "forced.md"), ctx)[0], PostDocument)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("missing.md", None, "no such file or folder"),
        ("data.xlsx", b"x", "unsupported file type '.xlsx'"),
        ("empty.md", b"  \n", "has no text"),
    ],
)
def test_bad_files_fail_with_a_reason(tmp_path: Path, ctx: CrawlContext, name: str, data: bytes | None, reason: str):
    if data is not None:
        (tmp_path / name).write_bytes(data)
    with pytest.raises(CrawlFailure, match=reason):
        crawl(str(tmp_path / name), ctx)


def tiny_pdf(text: str) -> bytes:
    stream = f"BT /F1 18 Tf 20 60 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_OOXML = "http://schemas.openxmlformats.org"
_DOCX_PARTS = {
    "[Content_Types].xml": f'<Types xmlns="{_OOXML}/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_OOXML}/package/2006/relationships"><Relationship Id="rId1" '
    f'Type="{_OOXML}/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
}


def tiny_docx(path: Path, text: str) -> None:
    body = f'<w:document xmlns:w="{_OOXML}/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t>'
    with zipfile.ZipFile(path, "w") as z:
        for name, xml in {**_DOCX_PARTS, "word/document.xml": body + "</w:r></w:p></w:body></w:document>"}.items():
            z.writestr(name, '<?xml version="1.0"?>' + xml)


@pytest.mark.parametrize(
    ("suffix", "modules", "missing_reason"),
    [
        ("pdf", ["pdfminer", "pi_heif", "unstructured_inference", "en_core_web_sm"], "PDF needs"),
        ("docx", ["docx", "en_core_web_sm"], "DOCX needs"),
    ],
)
def test_pdf_and_docx_are_extracted_or_fail_naming_what_is_missing(
    tmp_path: Path, ctx: CrawlContext, suffix: str, modules: list[str], missing_reason: str
) -> None:
    path = tmp_path / f"talk.{suffix}"
    if suffix == "pdf":
        path.write_bytes(tiny_pdf("Boring pipelines, quiet nights"))
    else:
        tiny_docx(path, "Boring pipelines, quiet nights")
    if all(importlib.util.find_spec(m) for m in modules):
        (doc,) = crawl(str(path), ctx)
        assert "Boring pipelines, quiet nights" in doc.text()
    else:
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        with pytest.raises(CrawlFailure, match=missing_reason) as failure:
            crawl(str(path), ctx)
        assert "not installed" in failure.value.reason
        names = {"pdfminer": "pdfminer.six", "pi_heif": "pi-heif", "unstructured_inference": "unstructured-inference",
                 "docx": "python-docx", "en_core_web_sm": "spaCy"}  # fmt: skip
        assert all(names[m] in failure.value.reason for m in missing)

"""Charsets (BOM, header, <meta>, detection) and the content-type allow-list."""

from __future__ import annotations

import codecs

import pytest

from twin_core.crawl.content import (
    accepted,
    charset_from_content_type,
    charset_from_markup,
    decode_body,
    media_type,
    normalize_charset,
    sniff_media_type,
)

TEXT = "Café in Zürich: crème brûlée for £4.50"


def test_header_charset_wins_over_meta() -> None:
    body = f'<html><head><meta charset="utf-8"></head><body>{TEXT}</body></html>'.encode("iso-8859-1")
    text, codec = decode_body(body, "text/html; charset=ISO-8859-1")
    assert TEXT in text and codec == "cp1252"  # WHATWG: latin-1 labels mean windows-1252


def test_meta_charset_when_header_has_none() -> None:
    body = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">{TEXT}'.encode(
        "cp1252"
    )
    assert TEXT in decode_body(body, "text/html")[0]
    assert charset_from_markup(b'<meta charset="koi8-r">') == "koi8-r"


def test_xml_declaration_names_the_encoding() -> None:
    body = f'<?xml version="1.0" encoding="ISO-8859-15"?><rss><title>{TEXT}</title></rss>'.encode("iso-8859-15")
    assert TEXT in decode_body(body, "application/rss+xml")[0]


def test_bom_beats_everything() -> None:
    body = codecs.BOM_UTF8 + TEXT.encode("utf-8")
    assert decode_body(body, "text/html; charset=iso-8859-1") == (TEXT, "utf-8-sig")


def test_undeclared_non_utf8_is_detected() -> None:
    body = ("<html><body><p>" + " ".join([TEXT] * 20) + "</p></body></html>").encode("cp1252")
    text, codec = decode_body(body, "text/html")
    assert TEXT in text and codec != "utf-8"


def test_unknown_label_is_ignored() -> None:
    assert normalize_charset("no-such-charset") is None
    assert charset_from_content_type("text/html; charset=bogus") is None
    assert decode_body(TEXT.encode("utf-8"), "text/html; charset=bogus")[0] == TEXT


@pytest.mark.parametrize(
    ("mime", "accept", "ok"),
    [
        ("text/html", ("html",), True),
        ("application/xhtml+xml", ("html",), True),
        ("application/atom+xml", ("html",), False),
        ("application/atom+xml", ("html", "feed"), True),
        ("application/octet-stream", ("html",), False),
        ("application/zip", ("zip",), True),
        ("application/pdf", ("application/pdf",), True),
        ("image/png", ("*",), True),
    ],
)
def test_accept_kinds(mime: str, accept: tuple[str, ...], ok: bool) -> None:
    assert accepted(mime, accept) is ok


def test_media_type_and_sniffing() -> None:
    assert media_type("Text/HTML; charset=UTF-8") == "text/html"
    assert sniff_media_type(b"  <!DOCTYPE html><html>") == "text/html"
    assert sniff_media_type(b"<?xml version='1.0'?><feed/>") == "application/xml"
    assert sniff_media_type(b"PK\x03\x04") == "application/octet-stream"

"""Content types and charsets of fetched bodies: what a caller accepts, and bytes to text."""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence

# WHATWG Encoding: browsers read these labels as windows-1252, a superset (curly quotes, euro sign).
_WHATWG_ALIASES = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)["']""", re.I)
SNIFF_BYTES = 4096
ACCEPT: dict[str, tuple[str, ...]] = {
    "html": ("text/html", "application/xhtml+xml"),
    "feed": ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml"),
    "text": ("text/plain", "text/markdown"),
    "json": ("application/json",),
    "zip": ("application/zip", "application/x-zip-compressed", "application/octet-stream"),
}


def normalize_charset(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when the label is unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _WHATWG_ALIASES.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The ``charset=`` parameter of a Content-Type header, as a codec name."""
    match = _CHARSET_PARAM.search(content_type or "")
    return normalize_charset(match.group(1)) if match else None


def charset_from_markup(body: bytes) -> str | None:
    """The charset an HTML ``<meta>`` or an XML declaration names in the first bytes of a document."""
    head = body[:SNIFF_BYTES]
    match = _XML_DECL.search(head) or _META_CHARSET.search(head)
    return normalize_charset(match.group(1).decode("ascii", "ignore")) if match else None


def detect_charset(body: bytes) -> str | None:
    """A statistical guess (charset_normalizer) for bytes that name no charset."""
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    return normalize_charset(best.encoding) if best else None


def decode_body(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode ``body``: BOM, header charset, markup charset, valid UTF-8, then detection; returns (text, codec)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace"), codec
    for find in (lambda: charset_from_content_type(content_type), lambda: charset_from_markup(body)):
        codec = find()
        if codec:
            return body.decode(codec, errors="replace"), codec
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        codec = detect_charset(body) or "cp1252"
        return body.decode(codec, errors="replace"), codec


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-cased."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_text_type(mime: str) -> bool:
    """Whether bodies of this media type are decoded to text."""
    return mime.startswith("text/") or mime.endswith(("+xml", "/xml", "/json", "+json"))


def accepted(mime: str, accept: Sequence[str]) -> bool:
    """Whether a media type is allowed by kinds (``html``, ``feed``...), literal types, or ``*``."""
    wanted = {t for kind in accept for t in ACCEPT.get(kind, (kind,))}
    return "*" in wanted or mime in wanted


def sniff_media_type(body: bytes) -> str:
    """A media type for a response that declares none: markup if it starts like markup, else bytes."""
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if head.startswith(b"<?xml"):
        return "application/xml"
    return "application/octet-stream"

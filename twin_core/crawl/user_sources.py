"""Links added on the web UI's sources page, kept in the warehouse, crawled by ``run_etl`` with the configured ones.

Only configured authors (the ``sources`` group) can get links: this never creates an author. Only http(s) URLs are
accepted here (a web page must not make the server read its local files); private addresses are refused later, at
fetch time, by the crawler's network guard unless ``crawl.allow_private_networks`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from twin_core.crawl.settings import AuthorSources, LinkSpec, check_url
from twin_core.domain.ids import normalize_link, normalize_name, stable_id

if TYPE_CHECKING:
    from twin_core.crawl.dispatcher import SourceLink
    from twin_core.warehouse import Warehouse

log = logging.getLogger("twin.crawl")
SOURCE_LINKS_COLLECTION = "source_links"
MAX_URL_CHARS = 2048


def _names(configured_authors: Iterable[AuthorSources | str]) -> list[str]:
    return [a if isinstance(a, str) else a.full_name for a in configured_authors]


def configured_author(full_name: str, configured_authors: Iterable[AuthorSources | str]) -> str:
    """The configured author's full name matching ``full_name`` (case and spacing ignored); else ValueError."""
    names = _names(configured_authors)
    for name in names:
        if normalize_name(name) == normalize_name(full_name or ""):
            return name
    raise ValueError(f"author {full_name!r} is not a configured author (sources group); known: {names}")


def check_user_url(url: str) -> str:
    """A crawlable http(s) URL (stripped); ValueError naming the URL otherwise."""
    url = (url or "").strip()
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"{url[:80]!r}...: longer than {MAX_URL_CHARS} characters")
    check_url(url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"{url!r}: only http:// and https:// links can be added here")
    return url


def link_key(author: str, url: str) -> str:
    """The record id of an author's link: the same page (normalised link) is one entry."""
    return stable_id("source_link", normalize_name(author), normalize_link(url))


def add_links(
    warehouse: Warehouse,
    author_full_name: str,
    urls: Sequence[str],
    configured_authors: Iterable[AuthorSources | str],
    *,
    added_by: str | None = None,
) -> list[dict[str, Any]]:
    """Store links for a configured author (all validated first: nothing is stored when one is invalid).

    Idempotent: a link already stored for the author is returned as it is (``new`` false). Returns one record
    per distinct URL: ``id, author, url, added_at, added_by, new``.
    """
    author = configured_author(author_full_name, configured_authors)
    if isinstance(urls, str):
        urls = [urls]
    checked = list(dict.fromkeys(check_user_url(u) for u in urls))
    if not checked:
        raise ValueError("urls: give at least one link")
    out, seen = [], set()
    for url in checked:
        key = link_key(author, url)
        if key in seen:
            continue
        seen.add(key)
        stored = warehouse.get(SOURCE_LINKS_COLLECTION, key)
        if stored and not stored.get("removed_at"):
            out.append({**_public(stored), "new": False})
            continue
        doc = {"author": author, "url": url, "added_at": datetime.now(UTC), "added_by": added_by}
        warehouse.put(SOURCE_LINKS_COLLECTION, key, doc)
        log.info("source link added", extra={"author": author, "url": url, "added_by": added_by})
        out.append({**_public({**doc, "_id": key}), "new": True})
    return out


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    added = doc.get("added_at")
    return {
        "id": doc["_id"],
        "author": doc["author"],
        "url": doc["url"],
        "added_at": added.isoformat() if isinstance(added, datetime) else added,
        "added_by": doc.get("added_by"),
    }


def list_links(warehouse: Warehouse, author: str | None = None) -> list[dict[str, Any]]:
    """Stored links (of one author when given, any spelling of the name), oldest first."""
    docs = [d for d in warehouse.find(SOURCE_LINKS_COLLECTION) if not d.get("removed_at")]
    if author is not None:
        docs = [d for d in docs if normalize_name(d.get("author", "")) == normalize_name(author)]
    return sorted((_public(d) for d in docs), key=lambda d: (str(d["added_at"]), d["url"]))


def remove_link(warehouse: Warehouse, link_id: str) -> bool:
    """Stop crawling a stored link (marked removed; its documents stay in the warehouse); False when none."""
    doc = warehouse.get(SOURCE_LINKS_COLLECTION, link_id)
    if not doc or doc.get("removed_at"):
        return False
    doc.pop("_id")
    warehouse.put(SOURCE_LINKS_COLLECTION, link_id, {**doc, "removed_at": datetime.now(UTC)})
    log.info("source link removed", extra={"id": link_id, "url": doc.get("url")})
    return True


def merged_links(warehouse: Warehouse, author: AuthorSources, configured: Sequence[SourceLink]) -> list[SourceLink]:
    """The user-added links of a configured author not already among its configured links, for ``run_etl``."""
    from twin_core.crawl.dispatcher import SourceLink

    have = {normalize_link(item.link.url) for item in configured}
    out = []
    for j, rec in enumerate(list_links(warehouse, author.full_name)):
        if normalize_link(rec["url"]) in have:
            continue
        have.add(normalize_link(rec["url"]))
        out.append(SourceLink(f"source_links[{j}] (added {rec['added_at']})", LinkSpec(url=rec["url"])))
    return out

"""Links added on the sources page: configured authors only, validated, idempotent, and crawled by run_etl."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from twin_core.crawl.settings import AuthorSources
from twin_core.crawl.user_sources import SOURCE_LINKS_COLLECTION, add_links, list_links, remove_link
from twin_core.demo.fixture_corpus import default_corpus_dir, load_docs
from twin_core.demo.fixture_site import FixtureSite
from twin_core.pipeline.runner import run_step
from twin_core.warehouse import Warehouse, WarehouseSettings, connect

AUTHORS = [AuthorSources(full_name="Ysolde Brannagh"), AuthorSources(full_name="Jane Doe")]
FAST = ["crawl.allow_private_networks=true", "crawl.per_host_rate=500", "crawl.backoff_s=0.05"]


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    with connect(WarehouseSettings(path=tmp_path / "wh")) as w:
        yield w


def test_add_list_remove_idempotent(wh: Warehouse) -> None:
    first = add_links(wh, "ysolde  brannagh", ["https://example.org/a", "https://example.org/b"], AUTHORS)
    assert [(r["author"], r["url"], r["new"]) for r in first] == [
        ("Ysolde Brannagh", "https://example.org/a", True),
        ("Ysolde Brannagh", "https://example.org/b", True),
    ]
    again = add_links(
        wh, "Ysolde Brannagh", ["https://example.org/a/", "https://EXAMPLE.org/a"], AUTHORS, added_by="k1"
    )
    assert [r["new"] for r in again] == [False] and again[0]["id"] == first[0]["id"]
    add_links(wh, "Jane Doe", ["https://example.org/a"], AUTHORS)  # same page, other author: its own entry
    assert wh.count(SOURCE_LINKS_COLLECTION) == 3
    assert [r["url"] for r in list_links(wh, "YSOLDE BRANNAGH")] == ["https://example.org/a", "https://example.org/b"]
    assert len(list_links(wh)) == 3 and first[0]["added_at"]
    assert remove_link(wh, first[1]["id"]) and not remove_link(wh, first[1]["id"]) and not remove_link(wh, "nope")
    assert [r["url"] for r in list_links(wh, "Ysolde Brannagh")] == ["https://example.org/a"]
    assert add_links(wh, "Ysolde Brannagh", ["https://example.org/b"], AUTHORS)[0]["new"]  # re-added after removal


def test_unknown_author_and_bad_urls_are_refused_and_nothing_stored(wh: Warehouse) -> None:
    with pytest.raises(ValueError, match=r"'Nobody' is not a configured author.*'Ysolde Brannagh', 'Jane Doe'"):
        add_links(wh, "Nobody", ["https://example.org/a"], AUTHORS)
    with pytest.raises(ValueError, match="'htp://x'"):
        add_links(wh, "Jane Doe", ["https://example.org/ok", "htp://x"], AUTHORS)
    with pytest.raises(ValueError, match="'/etc/passwd': only http"):
        add_links(wh, "Jane Doe", ["/etc/passwd"], AUTHORS)
    with pytest.raises(ValueError, match="'file:///etc/passwd': only http"):
        add_links(wh, "Jane Doe", ["file:///etc/passwd"], ["Jane Doe"])
    with pytest.raises(ValueError, match="at least one"):
        add_links(wh, "Jane Doe", [], AUTHORS)
    assert wh.count(SOURCE_LINKS_COLLECTION) == 0 and wh.list_authors() == []  # never creates an author


def test_run_etl_crawls_added_links_once(make_settings: Callable[..., Any]) -> None:
    articles = load_docs(default_corpus_dir(), "blog")[:2]
    with FixtureSite() as site:
        configured, added = (f"{site.url}/blog/{a.slug}.html" for a in articles)
        cfg = make_settings(
            *FAST, f'sources.authors.0.links=["{configured}"]', "sources.authors.0.linkedin_exports=[]",
            "sources.authors.0.files=[]",
        )  # fmt: skip
        with connect(cfg.warehouse) as wh:
            recs = add_links(wh, "Ysolde Brannagh", [added, configured + "/"], cfg.sources.authors)
            assert [r["new"] for r in recs] == [True, True]
        result = run_step("etl", cfg)
        with connect(cfg.warehouse) as wh:
            links = sorted(d.link for d in wh.find_documents())
    crawled = {d["link"]: d["status"] for d in result.details["links"]}
    assert crawled == {configured: "new", added: "new"}  # the configured one once, not again as a user link
    assert links == sorted([configured, added]) and site.hits[f"/blog/{articles[1].slug}.html"] >= 1

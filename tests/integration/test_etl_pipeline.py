"""`twin pipeline=etl` on the demo sources: every document once, re-runs unchanged, edits update in place,
and failing links are reported with their reason while the others are stored."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from twin_core.cli import main
from twin_core.crawl.incremental import STATE_COLLECTION
from twin_core.crawl.report import REPORTS_COLLECTION
from twin_core.demo.fixture_corpus import build_git_repo, default_corpus_dir, load_docs
from twin_core.demo.fixture_site import FixtureSite
from twin_core.pipeline.runner import run_step
from twin_core.warehouse import connect

pytestmark = pytest.mark.integration

FAST = ["crawl.allow_private_networks=true", "crawl.per_host_rate=500", "crawl.backoff_s=0.05"]
KINDS = ("medium", "substack", "blog", "linkedin/posts", "linkedin/articles", "notes")


def twin(tmp_path: Path, *overrides: str) -> dict[str, dict]:
    """Run the CLI in-process; returns each step's result by step name."""
    out = tmp_path / f"result-{len(list(tmp_path.glob('result-*')))}.json"
    code = main(["pipeline=etl", f"paths.data_dir={tmp_path / 'data'}", *FAST, *overrides, "--result-file", str(out)])
    results = {r["step"]: r for r in json.loads(out.read_text())}
    assert code == 0, results
    return results


def test_demo_sources_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = default_corpus_dir()
    expected = sum(len(load_docs(corpus, kind)) for kind in KINDS) + 1  # + the git repository
    with FixtureSite() as site:
        monkeypatch.setenv("TWIN_DEMO_SITE", site.url)
        monkeypatch.setenv("TWIN_DEMO_REPO", str(build_git_repo(corpus, tmp_path / "hedgerow")))
        first = twin(tmp_path)["etl"]
        with connect_to(tmp_path) as wh:
            counts_after_first = {k: v for k, v in wh.counts().items() if k != REPORTS_COLLECTION}
        hits_before = dict(site.hits)
        second = twin(tmp_path)["etl"]
        with connect_to(tmp_path) as wh:
            counts_after_second = {k: v for k, v in wh.counts().items() if k != REPORTS_COLLECTION}
            assert wh.count(REPORTS_COLLECTION) == 2
    assert first["counts"]["new"] == first["counts"]["documents"] == expected
    assert first["counts"]["failed"] == first["counts"]["links_failed"] == 0
    assert counts_after_first["raw_documents"] == expected
    assert second["counts"]["unchanged"] == expected and second["counts"]["new"] == second["counts"]["updated"] == 0
    assert {link["status"] for link in second["details"]["links"]} == {"unchanged"}
    assert counts_after_second == counts_after_first
    article_pages = [p for p in site.hits if re.fullmatch(r"/medium/@[^/]+/[^/]+|/substack/p/.+|/blog/.+\.html", p)]
    assert len(article_pages) == 18 and all(site.hits[p] == hits_before[p] + 1 for p in article_pages)  # one 304 each
    report = json.loads(Path(second["artifacts"]["report"]).read_text())
    assert len(report["links"]) == 6 and Path(second["artifacts"]["report_md"]).read_text().startswith("# Crawl")


def connect_to(tmp_path: Path):
    from twin_core.warehouse import WarehouseSettings

    return connect(WarehouseSettings(path=tmp_path / "data" / "warehouse"))


def test_edited_page_is_updated_in_place(tmp_path: Path, make_settings: Callable[..., object]) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(default_corpus_dir(), corpus, ignore=shutil.ignore_patterns("repo"))
    article = load_docs(corpus, "medium")[0]
    with FixtureSite(corpus) as site:
        links = f'sources.authors.0.links=["{site.url}/medium/@ysoldebuilds", "{site.url}/blog/"]'
        cfg = make_settings(*FAST, links, "sources.authors.0.linkedin_exports=[]", "sources.authors.0.files=[]")
        first = run_step("etl", cfg)
        with connect(cfg.warehouse) as wh:  # type: ignore[attr-defined]
            before = {d.link: d for d in wh.find_documents()}
        article.path.write_text(article.path.read_text().replace(article.body.split("\n\n")[0], "An edited opening."))
        second = run_step("etl", cfg)
        with connect(cfg.warehouse) as wh:  # type: ignore[attr-defined]
            after = {d.link: d for d in wh.find_documents()}
            state = wh.count(STATE_COLLECTION)
    assert first.counts["new"] == 12 and state > 12
    assert (second.counts["updated"], second.counts["unchanged"], second.counts["new"]) == (1, 11, 0)
    assert sorted(after) == sorted(before)
    (edited,) = [link for link in after if after[link].content_hash != before[link].content_hash]
    assert edited.endswith(article.slug) and after[edited].id == before[edited].id
    assert after[edited].content["body"].startswith("An edited opening.")


def test_failing_links_are_reported_and_the_others_stored(tmp_path: Path, make_settings: Callable[..., object]) -> None:
    bad = ["/faults/botwall", "/faults/botwall200", "/faults/paywall", "/faults/404", "/private/secret.html"]
    with FixtureSite() as site:
        base = site.url
        links = "sources.authors.0.links=[" + ", ".join(f'"{base}{p}"' for p in [*bad, "/faults/flaky"]) + "]"
        cfg = make_settings(*FAST, links, "sources.authors.0.linkedin_exports=[]", "sources.authors.0.files=[]")
        result = run_step("etl", cfg)
        with connect(cfg.warehouse) as wh:  # type: ignore[attr-defined]
            stored = wh.find_documents()
    reasons = {d["link"].removeprefix(base): (d["status"], d["reason"]) for d in result.details["links"]}
    assert reasons == {
        "/faults/botwall": ("failed", "bot wall (Cloudflare challenge)"),
        "/faults/botwall200": ("failed", "bot wall (Cloudflare challenge)"),
        "/faults/paywall": ("failed", "paywall: member-only story"),
        "/faults/404": ("failed", "HTTP 404 Not Found"),
        "/private/secret.html": ("failed", f"disallowed by robots.txt: {base}/private/secret.html"),
        "/faults/flaky": ("new", ""),  # a 500 first, then retried: the one good link is stored
    }
    assert [d.link for d in stored] == [f"{base}/faults/flaky"]
    assert result.counts["links_failed"] == 5 and result.counts["new"] == 1 and result.ok


def test_crawl_windows_partition_the_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Backfilled weeks (crawl windows) store exactly what one full crawl stores: no loss, no duplicate."""
    corpus = default_corpus_dir()
    bounds = ["2020-01-01T00:00:00", "2025-09-01T00:00:00", "2026-03-01T00:00:00", "2030-01-01T00:00:00"]
    with FixtureSite() as site:
        monkeypatch.setenv("TWIN_DEMO_SITE", site.url)
        monkeypatch.setenv("TWIN_DEMO_REPO", str(build_git_repo(corpus, tmp_path / "hedgerow")))
        full = twin(tmp_path / "full")["etl"]
        stored_per_window = []
        for start, end in itertools.pairwise(bounds):
            etl = twin(tmp_path / "weekly", f"crawl.window_start={start}", f"crawl.window_end={end}")["etl"]
            stored_per_window.append(etl["counts"]["new"])
        # a window repeated (a retried backfill run) stores nothing new
        again = twin(tmp_path / "weekly", f"crawl.window_start={bounds[1]}", f"crawl.window_end={bounds[2]}")["etl"]
    with connect_to(tmp_path / "full") as wh:
        full_ids = {d.id: d.content_hash for d in wh.find_documents()}
    with connect_to(tmp_path / "weekly") as wh:
        weekly_ids = {d.id: d.content_hash for d in wh.find_documents()}
    assert weekly_ids == full_ids and len(full_ids) == full["counts"]["documents"]
    assert all(n > 0 for n in stored_per_window[:2]), stored_per_window  # the windows really split the corpus
    assert sum(stored_per_window) == len(full_ids)
    assert again["counts"]["new"] == again["counts"]["updated"] == 0


def test_edited_page_reembeds_exactly_that_document(tmp_path: Path, make_settings: Callable[..., object]) -> None:
    """ETL then features; edit one source page; ETL then features again: one document re-embedded, no stale chunk."""
    from twin_core.vectorstore import SearchFilters, open_store

    corpus = tmp_path / "corpus"
    shutil.copytree(default_corpus_dir(), corpus, ignore=shutil.ignore_patterns("repo"))
    article = load_docs(corpus, "medium")[0]
    with FixtureSite(corpus) as site:
        links = f'sources.authors.0.links=["{site.url}/medium/@ysoldebuilds", "{site.url}/blog/"]'
        cfg = make_settings(*FAST, links, "sources.authors.0.linkedin_exports=[]", "sources.authors.0.files=[]")
        run_step("etl", cfg)
        first = run_step("feature", cfg)
        again = run_step("feature", cfg)
        article.path.write_text(article.path.read_text().replace(article.body.split("\n\n")[0], "An edited opening."))
        assert run_step("etl", cfg).counts["updated"] == 1
        second = run_step("feature", cfg)
    with connect(cfg.warehouse) as wh:  # type: ignore[attr-defined]
        docs = {d.id: d for d in wh.find_documents()}
        cleaned = {d.id: d for d in wh.find_cleaned()}
        author_id = next(iter(docs.values())).author_id
    (edited_id,) = [i for i, d in docs.items() if d.link.endswith(article.slug)]
    store = open_store(cfg.vector_store)  # type: ignore[attr-defined]
    try:
        by_doc = store.chunk_ids_by_document()
        hits = store.search([1.0] + [0.0] * 383, k=1000, filters=SearchFilters(author_id=author_id))
        edited_hits = store.search([1.0] + [0.0] * 383, k=100, filters=SearchFilters(document_id=edited_id))
    finally:
        store.close()
    assert first.counts["embedded_documents"] == len(docs) == 12
    assert again.counts["embedded_documents"] == 0 and "no change" in again.message
    assert second.counts["embedded_documents"] == 1 and second.counts["documents_changed"] == 1
    assert set(by_doc) == set(cleaned) == set(docs)  # every cleaned document has chunks, nothing else does
    assert {h.chunk.author_id for h in hits} == {author_id} and len(hits) == sum(len(v) for v in by_doc.values())
    texts = " ".join(h.chunk.content for h in edited_hits)
    assert "An edited opening." in texts and article.body.split("\n\n")[0] not in texts  # no stale chunk

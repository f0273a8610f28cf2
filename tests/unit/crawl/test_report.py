"""Crawl report arithmetic: a link's status from its documents, and the run's counts."""

from __future__ import annotations

from datetime import UTC, datetime

from twin_core.crawl.report import CrawlReport, DocumentOutcome, LinkOutcome, link_status


def doc(status: str, i: str = "a", reason: str = "") -> DocumentOutcome:
    return DocumentOutcome(id="" if status == "failed" else i, link=f"http://x/{i}", status=status, reason=reason)


def test_link_status_precedence() -> None:
    assert link_status([doc("unchanged"), doc("new", "b")]) == ("new", "")
    assert link_status([doc("unchanged"), doc("updated", "b")]) == ("updated", "")
    assert link_status([doc("unchanged")]) == ("unchanged", "")
    assert link_status([doc("unchanged"), doc("failed", "b", "HTTP 404")]) == ("unchanged", "1 of 2 documents failed")
    assert link_status([doc("failed", "b", "bot wall")]) == ("failed", "bot wall")
    assert link_status([]) == ("failed", "no documents found")


def test_counts_and_markdown() -> None:
    report = CrawlReport(run_id="r1", started_at=datetime(2026, 1, 1, tzinfo=UTC))
    report.links = [
        LinkOutcome("http://x/feed", "medium", "new", documents=[doc("new", "a"), doc("unchanged", "b")]),
        LinkOutcome("http://x/a", "article", "unchanged", documents=[doc("unchanged", "a")]),
        LinkOutcome("http://x/wall", "article", "failed", reason="bot wall (Cloudflare challenge)"),
    ]
    assert report.counts() == {
        "links": 3, "links_failed": 1, "documents": 2, "new": 1, "updated": 0, "unchanged": 2, "failed": 1,
    }  # fmt: skip
    md = report.to_markdown()
    assert "| http://x/wall | article | failed | - | bot wall (Cloudflare challenge) |" in md
    assert report.to_dict()["counts"]["links_failed"] == 1

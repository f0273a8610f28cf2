"""The crawl report: what happened to every link and every document under it (new, updated, unchanged, failed)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from twin_core.crawl.base import CrawlOutcome, Status

REPORTS_COLLECTION = "crawl_reports"
STATUSES: tuple[Status, ...] = ("new", "updated", "unchanged", "failed")


@dataclass
class DocumentOutcome:
    """One document found under a link (failed ones have no id, only the URL that failed)."""

    id: str
    link: str
    status: Status
    title: str = ""
    reason: str = ""


@dataclass
class LinkOutcome(CrawlOutcome):
    """One declared link: its overall status, where it was declared, and its documents."""

    where: str = ""
    author: str = ""
    seconds: float = 0.0
    documents: list[DocumentOutcome] = field(default_factory=list)


def link_status(documents: list[DocumentOutcome]) -> tuple[Status, str]:
    """A link's status from its documents: new > updated > unchanged; failed when nothing was collected."""
    failed = [d for d in documents if d.status == "failed"]
    ok = [d for d in documents if d.status != "failed"]
    if not ok:
        return "failed", failed[0].reason if failed else "no documents found"
    status: Status = next(s for s in STATUSES if any(d.status == s for d in ok))
    return status, f"{len(failed)} of {len(documents)} documents failed" if failed else ""


@dataclass
class CrawlReport:
    """Every link of one run, with timings; saved as JSON and Markdown and in the warehouse."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    links: list[LinkOutcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Links, link failures, and documents by status (failed counts failed links and failed documents)."""
        docs = [d for link in self.links for d in link.documents]
        whole = [link for link in self.links if link.status == "failed" and not link.documents]
        out = {"links": len(self.links), "links_failed": sum(link.status == "failed" for link in self.links)}
        out["documents"] = len({d.id for d in docs if d.id})
        out.update({s: sum(d.status == s for d in docs) for s in STATUSES})
        out["failed"] += len(whole)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "counts": self.counts(),
            "links": [asdict(link) for link in self.links],
        }

    def to_markdown(self) -> str:
        c = self.counts()
        lines = [
            f"# Crawl report {self.run_id}",
            "",
            f"{c['links']} links ({c['links_failed']} failed); documents: {c['new']} new, {c['updated']} updated, "
            f"{c['unchanged']} unchanged, {c['failed']} failed.",
            "",
            "| link | crawler | status | documents | reason | seconds |",
            "|---|---|---|---|---|---|",
        ]
        for link in self.links:
            n = ", ".join(f"{s} {k}" for s in STATUSES if (k := sum(d.status == s for d in link.documents)))
            lines.append(
                f"| {_cell(link.link)} | {link.crawler} | {link.status} | {n or '-'} | "
                f"{_cell(link.reason) or '-'} | {link.seconds:.2f} |"
            )
        for link in self.links:
            if link.documents:
                lines += ["", f"## {_cell(link.link)}", ""]
                lines += [
                    f"- {d.status}: {_cell(d.title or d.link)} ({d.link})" + (f" - {d.reason}" if d.reason else "")
                    for d in link.documents
                ]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``crawl-<run_id>.json`` and ``.md`` into ``folder``; returns both paths."""
        folder.mkdir(parents=True, exist_ok=True)
        json_path, md_path = folder / f"crawl-{self.run_id}.json", folder / f"crawl-{self.run_id}.md"
        json_path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return json_path, md_path

    def print(self, console: Console) -> None:
        """A table of links with their status and reason."""
        table = Table(title=f"crawl {self.run_id}", show_lines=False)
        for col in ("link", "crawler", "status", "docs", "reason"):
            table.add_column(col, overflow="fold")
        for link in self.links:
            table.add_row(link.link, link.crawler, link.status, str(len(link.documents)), link.reason)
        console.print(table)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

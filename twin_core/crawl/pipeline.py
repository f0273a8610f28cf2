"""The etl step: crawl every declared link into the warehouse, once each, and report what happened to each."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from twin_core.crawl.base import Crawler, CrawlFailure
from twin_core.crawl.dispatcher import Dispatcher, SourceLink, author_links
from twin_core.crawl.fetcher import SafeFetcher
from twin_core.crawl.incremental import STATE_COLLECTION, RunContext
from twin_core.crawl.report import REPORTS_COLLECTION, CrawlReport, DocumentOutcome, LinkOutcome, link_status
from twin_core.crawl.user_sources import merged_links
from twin_core.domain.documents import Author, RawDocument
from twin_core.domain.results import StepResult
from twin_core.warehouse import Warehouse, connect

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.crawl")
Job = tuple[Author, SourceLink]


def load_state(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """Saved page state, minus pages whose documents are no longer in the warehouse (they are fetched again)."""
    stored = set(wh.document_hashes())
    state = {}
    for doc in wh.find(STATE_COLLECTION):
        key = doc.pop("_id")
        if all(d.get("id") in stored for d in doc.get("documents", [])):
            state[key] = doc
    return state


def store_link(
    wh: Warehouse, job: Job, crawler: str, docs: Sequence[RawDocument], ctx: RunContext, error: str | None
) -> LinkOutcome:
    """Upsert a link's documents inside the crawl window, then save its page state; returns the report line.

    Documents outside ``crawl.window_start/window_end`` (an Airflow run's data interval) are left for the run
    whose week they belong to; the page state then lacks them, so a later run fetches the page again.
    """
    author, item = job
    rows: list[DocumentOutcome] = []
    outside = [d for d in docs if not ctx.settings.in_window(d.published_at)]
    docs = [d for d in docs if ctx.settings.in_window(d.published_at)]
    if docs:
        upsert = wh.upsert_documents(docs)
        status = {
            **dict.fromkeys(upsert.new, "new"),
            **dict.fromkeys(upsert.updated, "updated"),
            **dict.fromkeys(upsert.unchanged, "unchanged"),
        }
        rows += [DocumentOutcome(d.id, d.link, status[d.id], d.title) for d in {d.id: d for d in docs}.values()]
    seen = {r.id for r in rows}
    rows += [DocumentOutcome(d.id, d.link, "unchanged", d.title) for d in ctx.unchanged if d.id not in seen]
    rows += [DocumentOutcome("", url, "failed", reason=reason) for url, reason in ctx.failures]
    for key, state in ctx.state.items():
        wh.put(STATE_COLLECTION, key, state)
    if error:
        status, reason = "failed", error
    elif outside and not rows:
        status, reason = "unchanged", f"{len(outside)} document(s) outside the crawl window"
    else:
        status, reason = link_status(rows)
        if outside:
            reason = "; ".join(x for x in (reason, f"{len(outside)} outside the crawl window") if x)
    return LinkOutcome(
        link=item.link.url,
        crawler=crawler,
        status=status,
        reason=reason,
        document_ids=[r.id for r in rows if r.id],
        where=item.where,
        author=author.full_name,
        documents=rows,
    )


async def crawl_links(cfg: TwinSettings, wh: Warehouse, jobs: Sequence[Job], *, progress: bool = True) -> CrawlReport:
    """Crawl every job concurrently (the fetcher bounds requests); one failing link never stops the others."""
    report = CrawlReport(run_id=datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ"), started_at=datetime.now(UTC))
    dispatcher, previous = Dispatcher(cfg.crawl.crawlers), load_state(wh)
    work_dir = cfg.paths.data_dir / "crawl"
    links_at_once = asyncio.Semaphore(cfg.crawl.concurrency)
    columns = (
        TextColumn("crawl"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    bar = Progress(*columns, console=Console(stderr=True), disable=not progress, transient=False)

    async def one(job: Job, fetcher: SafeFetcher, task: Any) -> LinkOutcome:
        author, item = job
        ctx = RunContext(settings=cfg.crawl, author=author, fetcher=fetcher, work_dir=work_dir, previous=previous)
        name, docs, error, t0 = item.link.crawler or "?", [], None, time.perf_counter()
        async with links_at_once:
            try:
                crawler: Crawler = dispatcher.pick(item.link)
                name = crawler.name
                docs = await crawler.crawl(item.link, ctx)
            except CrawlFailure as exc:
                error = exc.reason
            except Exception as exc:  # a crawler bug must not stop the other links
                log.exception("crawler %s raised on %s", name, item.link.url)
                error = f"{type(exc).__name__}: {exc}"
        outcome = store_link(wh, job, name, docs, ctx, error)
        outcome.seconds = round(time.perf_counter() - t0, 3)
        bar.update(task, advance=1, description=f"{outcome.status:<9} {item.link.url}")
        return outcome

    with bar:
        task = bar.add_task("", total=len(jobs))
        async with SafeFetcher(cfg.crawl) as fetcher:
            report.links = list(await asyncio.gather(*(one(job, fetcher, task) for job in jobs)))
    report.finished_at = datetime.now(UTC)
    return report


def run_etl(cfg: TwinSettings) -> StepResult:
    """Upsert the declared authors, crawl all their links, store documents and the crawl report."""
    with connect(cfg.warehouse) as wh:
        jobs: list[Job] = []
        for i, spec in enumerate(cfg.sources.authors):
            author = wh.upsert_author(Author(full_name=spec.full_name, handle=spec.handle))
            links = author_links(spec, i, cfg.paths.root)
            links += merged_links(wh, spec, links)  # added on the web UI's sources page
            jobs += [(author, item) for item in links]
        report = asyncio.run(crawl_links(cfg, wh, jobs))
        json_path, md_path = report.write(cfg.paths.reports_dir / "crawl")
        wh.put(REPORTS_COLLECTION, report.run_id, report.to_dict())
        total = wh.count_documents()
    report.print(Console(stderr=True))
    counts = {**report.counts(), "warehouse_documents": total}
    all_failed = bool(report.links) and counts["links_failed"] == len(report.links)
    return StepResult(
        step="etl",
        ok=not all_failed,
        counts=counts,
        artifacts={"report": str(json_path), "report_md": str(md_path)},
        message="every link failed" if all_failed else f"crawl report {report.run_id}",
        details={"links": [{"link": x.link, "status": x.status, "reason": x.reason} for x in report.links]},
    )

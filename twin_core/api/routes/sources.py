"""``/v1/sources``: the configured authors and the links added here; adding links starts a collection run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from twin_core.api.errors import ApiError
from twin_core.api.models import AddSourcesRequest
from twin_core.api.state import State

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.api")
router = APIRouter()


@router.get("/sources", tags=["sources"])
async def list_sources(state: State) -> dict[str, Any]:
    """Configured authors with their links, the links added here, and the latest collection run."""
    return await run_in_threadpool(_sources, state.cfg)


@router.post("/sources", status_code=201, tags=["sources"])
async def add_sources(body: AddSourcesRequest, request: Request, state: State) -> dict[str, Any]:
    """Add links for a configured author; then start collection (etl + feature, or the Airflow DAG)."""
    request.state.log.update(query=f"add {len(body.links)} link(s) for {body.author}")
    return await run_in_threadpool(_add_sources, state.cfg, body, request.state.request_id)


@router.get("/sources/collection", tags=["sources"])
async def latest_collection(state: State) -> dict[str, Any]:
    """The latest collection run (``state: none`` when there was none)."""
    return await run_in_threadpool(_collection_status, state.cfg, None)


@router.get("/sources/collection/{run_id}", tags=["sources"])
async def collection(run_id: str, state: State) -> dict[str, Any]:
    """A collection run's state."""
    run = await run_in_threadpool(_collection_status, state.cfg, run_id)
    if run.get("state") == "unknown":
        raise ApiError(404, f"no collection run {run_id!r}", field="run_id")
    return run


# blocking work (run in the thread pool)


def _sources(cfg: TwinSettings) -> dict[str, Any]:
    from twin_core.crawl.user_sources import list_links
    from twin_core.warehouse import connect

    with connect(cfg.warehouse) as wh:
        added = list_links(wh)
    authors = [
        {
            "full_name": a.full_name,
            "handle": a.handle,
            "links": [link.url for link in a.links],
            "files": [str(f) for f in a.files],
            "linkedin_exports": list(a.linkedin_exports),
            "added": [x for x in added if x["author"] == a.full_name],
        }
        for a in cfg.sources.authors
    ]
    return jsonable_encoder({"authors": authors, "added": added, "collection": _collection_status(cfg, None)})


def _add_sources(cfg: TwinSettings, body: AddSourcesRequest, request_id: str) -> dict[str, Any]:
    from twin_core.crawl.user_sources import add_links
    from twin_core.warehouse import connect

    try:
        with connect(cfg.warehouse) as wh:
            added = add_links(wh, body.author, body.links, cfg.sources.authors, added_by=f"api:{request_id}")
    except ValueError as exc:
        field = "author" if "author" in str(exc).split(":")[0] else "links"
        raise ApiError(422, str(exc), field=field) from exc
    run = None
    if body.collect:
        from twin_core.api.collection import CollectionError, trigger_collection

        try:
            run = trigger_collection(cfg, f"{len(added)} link(s) added for {body.author} (request {request_id})")
        except CollectionError as exc:
            message = f"links stored, but collection could not start: {exc}"
            raise ApiError(502, message, type="collection_error") from exc
    return jsonable_encoder({"added": added, "collection": run})


def _collection_status(cfg: TwinSettings, run_id: str | None) -> dict[str, Any]:
    from twin_core.api.collection import collection_status

    try:
        return jsonable_encoder(collection_status(run_id, cfg))
    except Exception as exc:
        log.warning("collection status failed: %s", exc)
        return {"run_id": run_id, "state": "error", "error": str(exc)}

"""Airflow 3 UI plugin: a page (FastAPI app under the API server, linked from the nav) with the model registry and
the evaluation leaderboard, read from ``<models_dir>/registry/`` and ``<reports_dir>/eval/leaderboard.json``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from twin_core.orchestration.dashboard import LEADERBOARD_FILE, Table, read_leaderboard, read_registry

URL_PREFIX = "/twin"


@cache
def twin_locations() -> tuple[Path, Path, str]:
    """(registry folder, leaderboard file, note): from the composed config, else ``$TWIN_DATA_DIR`` / ``var``."""
    try:
        from twin_core.config.loader import load_settings

        paths = load_settings().paths
        return paths.models_dir / "registry", paths.reports_dir / LEADERBOARD_FILE, ""
    except Exception as exc:  # a broken config must not take the page down
        data = Path(os.environ.get("TWIN_DATA_DIR") or Path(__file__).resolve().parents[1] / "var")
        note = f"config did not compose ({type(exc).__name__}); showing {data}"
        return data / "models" / "registry", data / "reports" / LEADERBOARD_FILE, note


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return "<br>".join(f"{html.escape(str(k))}={_cell(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape("" if value is None else str(value))


def render_table(title: str, table: Table) -> str:
    """One section: a heading, the source, any problems, then the rows (or a plain 'nothing yet')."""
    notes = "".join(f"<p class='note'>{html.escape(p)}</p>" for p in table.problems)
    meta = ", ".join(f"{k}: {v}" for k, v in table.meta.items())
    arrows = {"higher": " ↑", "lower": " ↓"}
    head = "".join(f"<th>{html.escape(c)}{arrows.get(table.directions.get(c, ''), '')}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in table.columns) + "</tr>" for r in table.rows)
    grid = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if table.rows else ""
    source = table.source + (f" ({meta})" if meta else "")
    return f"<h2>{html.escape(title)}</h2><p class='src'>{html.escape(source)}</p>{notes}{grid}"


STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2933}table{border-collapse:collapse;
margin-bottom:2rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top;
font-size:.9rem}th{background:#f6f8fa}.note{color:#8a6d3b}.src{color:#57606a;font-size:.8rem}"""


def page(registry: Table, leaderboard: Table, note: str = "") -> str:
    """The whole HTML page."""
    extra = f"<p class='note'>{html.escape(note)}</p>" if note else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>LLM Twin models</title><style>{STYLE}</style>"
        f"</head><body><h1>LLM Twin: models and evaluation</h1>{extra}"
        f"{render_table('Model registry', registry)}{render_table('Evaluation leaderboard', leaderboard)}</body></html>"
    )


async def require_login(request: Request) -> None:
    """An Airflow user: a Bearer token (REST clients) or the UI's session cookie; 401 otherwise."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    token = credentials if scheme.lower() == "bearer" else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    await resolve_user_from_token(token)


def create_app(
    locations: Callable[[], tuple[Path, Path, str]] = twin_locations, *, require_auth: bool = True
) -> FastAPI:
    """The plugin's app; behind the API server it needs an Airflow login (the UI's cookie or a Bearer token)."""
    app = FastAPI(title="LLM Twin models", dependencies=[Depends(require_login)] if require_auth else [])

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        registry_dir, board, note = locations()
        return page(read_registry(registry_dir), read_leaderboard(board), note)

    @app.get("/api/registry")
    def registry() -> dict[str, Any]:
        return read_registry(locations()[0]).to_dict()

    @app.get("/api/leaderboard")
    def leaderboard() -> dict[str, Any]:
        return read_leaderboard(locations()[1]).to_dict()

    return app


class TwinUiPlugin(AirflowPlugin):
    """Mounts the app at /twin and adds 'Twin models' to the nav (shown inside the Airflow UI)."""

    name = "llm_twin"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "LLM Twin models"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "Twin models",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "twin-models",
        }
    ]

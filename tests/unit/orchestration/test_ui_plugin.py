"""The Airflow 3 UI plugin: a valid plugin, its app mounted outside reserved prefixes, pages with and without data."""

from __future__ import annotations

import json
from pathlib import Path

from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse, FastAPIAppResponse
from airflow.plugins_manager import is_valid_plugin
from fastapi.testclient import TestClient

from plugins.twin_ui import URL_PREFIX, TwinUiPlugin, create_app
from twin_core.training.registry import ModelRegistry


def _client(tmp_path: Path) -> TestClient:
    locations = (tmp_path / "models" / "registry", tmp_path / "reports" / "eval" / "leaderboard.json", "")
    return TestClient(create_app(lambda: locations, require_auth=False))


def test_plugin_is_valid_and_its_views_match_airflows_schema() -> None:
    assert is_valid_plugin(TwinUiPlugin)
    app = TwinUiPlugin.fastapi_apps[0]
    FastAPIAppResponse.model_validate({**app, "app": "plugins.twin_ui.create_app"})
    assert app["url_prefix"] == URL_PREFIX
    assert not URL_PREFIX.startswith(("/api/v2", "/ui", "/execution", "/auth", "/pluginsv2"))
    view = ExternalViewResponse.model_validate(TwinUiPlugin.external_views[0])
    assert (view.href, view.destination, view.url_route) == ("/twin/", "nav", "twin-models")


def test_page_says_plainly_when_nothing_exists_yet(tmp_path: Path) -> None:
    page = _client(tmp_path).get("/")
    assert page.status_code == 200
    assert "no model registry yet" in page.text and "no leaderboard yet" in page.text


def test_page_and_api_show_registry_and_leaderboard(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    manifest = {"method": "dpo", "recipe": "cpu_tiny_dpo", "metrics": {"train_loss": 0.6931}}
    ModelRegistry(tmp_path / "models" / "registry").register("twin-dpo", model_dir=model, manifest=manifest)
    board = tmp_path / "reports" / "eval" / "leaderboard.json"
    board.parent.mkdir(parents=True)
    board.write_text(json.dumps([{"model": "twin-dpo", "version": "v1", "metrics": {"style<x>": 0.81}}]))
    client = _client(tmp_path)
    text = client.get("/").text
    assert "twin-dpo" in text and "cpu_tiny_dpo" in text and "train_loss=0.6931" in text
    assert "style&lt;x&gt;" in text and "<x>" not in text
    registry = client.get("/api/registry").json()
    assert [(r["name"], r["version"], r["stages"]) for r in registry["rows"]] == [("twin-dpo", "v1", "candidate")]
    assert client.get("/api/leaderboard").json()["rows"] == [{"model": "twin-dpo", "version": "v1", "style<x>": 0.81}]


def test_app_requires_an_airflow_login_by_default(tmp_path: Path) -> None:
    client = TestClient(create_app(lambda: (tmp_path, tmp_path / "l.json", "")))
    assert client.get("/").status_code == 401
    assert client.get("/api/registry").status_code == 401

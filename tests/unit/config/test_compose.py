"""The real config composes, every group option instantiates, and bad values name their key and origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_core.config.compose import compose_config, conf_dir
from twin_core.config.errors import ConfigError
from twin_core.config.loader import GROUPS, TwinSettings, load_settings, validate_config

# Options that need a server URL from the environment get one here (nothing connects).
NEEDS = {
    ("warehouse", "mongodb"): ["warehouse.uri=mongodb://localhost:27017"],
    ("vector_store", "weaviate"): ["vector_store.url=http://localhost:8080"],
}


def _options() -> list[tuple[str, str]]:
    out = []
    for group in GROUPS:
        for f in sorted((conf_dir() / group).glob("*.yaml")):
            out.append((group, f.stem))
    return out


def test_default_config_builds_every_group(tmp_path: Path) -> None:
    s = load_settings([f"paths.data_dir={tmp_path}"])
    assert isinstance(s, TwinSettings)
    for group, cls in GROUPS.items():
        assert isinstance(getattr(s, group), cls), group
    assert s.paths.warehouse_dir == tmp_path / "warehouse"
    assert s.embedding.dimension == 384


@pytest.mark.parametrize(("group", "option"), _options(), ids=lambda x: str(x))
def test_every_group_option_instantiates(group: str, option: str, tmp_path: Path) -> None:
    s = load_settings([f"paths.data_dir={tmp_path}", f"{group}={option}", *NEEDS.get((group, option), [])])
    assert isinstance(getattr(s, group), GROUPS[group])


def test_every_group_file_names_a_twin_core_target() -> None:
    for group in GROUPS:
        for f in (conf_dir() / group).glob("*.yaml"):
            text = f.read_text()
            assert "_target_: twin_core." in text, f"{f} has no twin_core _target_"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("chunking.chunk_size=-1", "chunking.chunk_size: -1"),
        ("crawl.concurrency=lots", "crawl.concurrency: 'lots'"),
        ("+chunking.colour=blue", "chunking.colour"),
        ("pipeline.steps=[init,nope]", "unknown step(s) ['nope']"),
        ("embedding.device=tpu9", "embedding.device: 'tpu9'"),
        ("chunking.chunk_overlap=5000", "chunk_overlap (5000) must be smaller than chunk_size (1000)"),
        ("sources.authors=[{full_name: A, links: ['htp://x']}]", "sources.authors[0].links[0].url: 'htp://x'"),
        ("sources.authors.0.files=[/no/such/notes]", "sources.authors[0].files: ['/no/such/notes']"),
        ("sources.authors.0.linkedin_exports=[/no/export.zip]", "'/no/export.zip': no such file"),
        ("embedding.model_path=/no/model", "embedding.model_path: '/no/model'"),
    ],
)
def test_bad_values_fail_with_key_path_and_origin(override: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config([override])
    message = str(err.value)
    assert expected in message
    assert f"command-line override {override!r}" in message


def test_error_from_a_file_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(conf_dir(), conf)
    (conf / "chunking" / "broken.yaml").write_text(
        "_target_: twin_core.features.settings.ChunkingSettings\nchunk_size: 0\n"
    )
    monkeypatch.setenv("TWIN_CONF_DIR", str(conf))
    with pytest.raises(ConfigError, match=r"chunking\.chunk_size: 0 .*conf/chunking/broken\.yaml"):
        validate_config(["chunking=broken"])


def test_server_engines_without_url_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    with pytest.raises(ConfigError, match=r"warehouse: engine 'mongodb' needs warehouse\.uri"):
        validate_config(["warehouse=mongodb"])


def test_secrets_come_from_environment_not_conf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://u:pw@db:27017")
    cfg = compose_config(["warehouse=mongodb"])
    assert cfg.warehouse.uri == "mongodb://u:pw@db:27017"
    assert "pw" not in (conf_dir() / "warehouse" / "mongodb.yaml").read_text()


def test_experiment_demo_moves_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(["experiment=demo"])
    assert s.paths.data_dir == s.paths.root / "var" / "demo"
    assert s.run_name == "demo"

"""The one compose helper: Hydra's compose API over ``conf/`` (no @hydra.main, so Airflow can call it)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from omegaconf import DictConfig, OmegaConf


@cache
def repo_root() -> Path:
    """The project root: ``$TWIN_ROOT`` or the folder above the ``twin_core`` package."""
    env = os.environ.get("TWIN_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def conf_dir() -> Path:
    """The Hydra config directory: ``$TWIN_CONF_DIR`` or ``<root>/conf``."""
    env = os.environ.get("TWIN_CONF_DIR")
    path = Path(env).resolve() if env else repo_root() / "conf"
    if not (path / "config.yaml").is_file():
        raise FileNotFoundError(f"no config.yaml in {path} (set TWIN_CONF_DIR or TWIN_ROOT)")
    return path


def _register_resolvers() -> None:
    if not OmegaConf.has_resolver("twin_root"):
        OmegaConf.register_new_resolver("twin_root", lambda: str(repo_root()))


def compose_config(overrides: Sequence[str] = (), *, with_choices: bool = True) -> DictConfig:
    """Compose ``conf/config.yaml`` with Hydra overrides; ``_choices`` records which file each group used."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    _register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name="twin"):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    choices = {k: v for k, v in OmegaConf.to_container(cfg.hydra.runtime.choices).items() if not k.startswith("hydra")}
    with_hydra = OmegaConf.to_container(cfg, resolve=False)
    with_hydra.pop("hydra", None)
    out = OmegaConf.create(with_hydra)
    if with_choices:
        out["_choices"] = choices
        out["_overrides"] = list(overrides)
    return out

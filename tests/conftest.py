"""Shared fixtures: the real config, composed once per test and shrunk to a temporary data folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.pop("TWIN_DATA_DIR", None)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., object]:
    """Compose the real config with overrides, its data folder under ``tmp_path``."""
    from hydra.core.global_hydra import GlobalHydra

    from twin_core.config.loader import load_settings

    def _make(*overrides: str) -> object:
        return load_settings([f"paths.data_dir={tmp_path / 'data'}", *overrides])

    yield _make
    GlobalHydra.instance().clear()


@pytest.fixture
def settings(make_settings: Callable[..., object]) -> object:
    """The default composed settings, writing under ``tmp_path``."""
    return make_settings()

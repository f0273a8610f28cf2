"""Settings for paths and the experiment group."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from twin_core.config.base import Settings


class PathSettings(Settings):
    """Every on-disk location in one place; all derive from ``data_dir`` by default."""

    root: Path = Field(description="Repository root (conf/ lives here).")
    data_dir: Path = Field(description="Where stores and artifacts go; one folder per installation.")
    warehouse_dir: Path
    vector_dir: Path
    artifacts_dir: Path
    reports_dir: Path
    models_dir: Path

    def ensure(self) -> None:
        """Create every directory (idempotent)."""
        for p in (
            self.data_dir,
            self.warehouse_dir,
            self.vector_dir,
            self.artifacts_dir,
            self.reports_dir,
            self.models_dir,
        ):
            p.mkdir(parents=True, exist_ok=True)

"""Warehouse settings: embedded on-disk engine (montydb) or MongoDB by URI."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from twin_core.config.base import Settings


class WarehouseSettings(Settings):
    """Where raw and cleaned documents live; same pymongo code path for both engines."""

    engine: Literal["embedded", "mongodb"] = "embedded"
    path: Path | None = Field(default=None, description="Directory of the embedded store.")
    uri: str | None = Field(default=None, description="mongodb:// URI; keep it in MONGODB_URI, not in conf/.")
    database: str = Field(default="twin", min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    timeout_ms: int = Field(default=5000, gt=0)

    @model_validator(mode="after")
    def _engine_needs(self) -> WarehouseSettings:
        if self.engine == "embedded" and self.path is None:
            raise ValueError("engine 'embedded' needs warehouse.path")
        if self.engine == "mongodb" and not (self.uri and self.uri.startswith(("mongodb://", "mongodb+srv://"))):
            raise ValueError(f"engine 'mongodb' needs warehouse.uri starting with mongodb://, got {self.uri!r}")
        return self

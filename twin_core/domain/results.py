"""StepResult: the small metadata every step returns (counts, artifact URIs, timings); safe for XCom."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StepResult(BaseModel):
    """What a step did, in numbers and pointers; never the data itself."""

    model_config = ConfigDict(extra="forbid")

    step: str
    ok: bool = True
    message: str = ""
    counts: dict[str, int] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    artifacts: dict[str, str] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    duration_s: float = 0.0

    def to_xcom(self) -> dict[str, Any]:
        """JSON-safe dict for Airflow XCom and result files."""
        return self.model_dump(mode="json")

"""Pipeline settings: which steps a ``twin pipeline=<name>`` run executes, in order."""

from __future__ import annotations

from pydantic import Field, field_validator

from twin_core.config.base import Settings


class PipelineSettings(Settings):
    """A named, ordered list of step names from the step registry."""

    name: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    stop_on_failure: bool = True

    @field_validator("steps")
    @classmethod
    def _known_steps(cls, v: list[str]) -> list[str]:
        from twin_core.pipeline.registry import STEPS

        unknown = [s for s in v if s not in STEPS]
        if unknown:
            raise ValueError(f"unknown step(s) {unknown}; known: {sorted(STEPS)}")
        return v

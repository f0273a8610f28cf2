"""Guardrails on what goes into the twin and what comes out; each decision is logged."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from twin_core.config.base import Settings

PiiKind = Literal["email", "phone", "credit_card", "iban", "ip_address", "api_key"]


class InputGuardSettings(Settings):
    """Checks on a request before retrieval."""

    max_chars: int = Field(default=4000, gt=0, description="Longer input is refused (413).")
    injection: Literal["off", "flag", "block"] = Field(
        default="block", description="Prompt-injection patterns: block (400), flag (log only) or off."
    )
    injection_patterns: list[str] = Field(default_factory=list, description="Extra regexes (case-insensitive).")
    redact_pii: list[PiiKind] = Field(default_factory=lambda: ["email", "phone", "credit_card", "iban", "api_key"])

    @field_validator("injection_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"{p!r} is not a valid regular expression: {exc}") from None
        return patterns


class OutputGuardSettings(Settings):
    """Checks on an answer before it is returned (and on a stream as it is written)."""

    redact_pii: list[PiiKind] = Field(default_factory=lambda: ["email", "phone", "credit_card", "iban", "api_key"])
    banned_terms: list[str] = Field(default_factory=list, description="Whole words, any case; replaced.")
    max_chars: int | None = Field(default=None, gt=0, description="Answers are cut on a word beyond this.")


class GuardrailSettings(Settings):
    """Input and output guardrails of the API."""

    enabled: bool = True
    input: InputGuardSettings = InputGuardSettings()
    output: OutputGuardSettings = OutputGuardSettings()

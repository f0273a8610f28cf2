"""Input and output guardrails: size, prompt injection, PII redaction, banned terms, length."""

from twin_core.guardrails.checks import (
    INJECTION_PATTERNS,
    Decision,
    GuardrailBlocked,
    Guardrails,
    GuardResult,
    StreamGuard,
)

__all__ = ["INJECTION_PATTERNS", "Decision", "GuardResult", "GuardrailBlocked", "Guardrails", "StreamGuard"]

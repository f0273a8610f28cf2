"""The RAG service's errors as API errors: model server down -> 503, refused link -> 400, guardrail -> 400/413."""

from __future__ import annotations

from twin_core.api.errors import ApiError


class _Never(Exception):
    """Stands in for an error class whose module is not importable (it never matches)."""


def _error_classes() -> dict[str, type[BaseException]]:
    out: dict[str, type[BaseException]] = {"unavailable": _Never, "link": _Never, "guard": _Never}
    try:
        from twin_core.rag.service import ModelUnavailable

        out["unavailable"] = ModelUnavailable
    except ImportError:
        pass
    try:
        from twin_core.rag.links import LinkRefused

        out["link"] = LinkRefused
    except ImportError:
        pass
    try:
        from twin_core.guardrails.checks import GuardrailBlocked

        out["guard"] = GuardrailBlocked
    except ImportError:
        pass
    return out


def map_error(exc: BaseException) -> ApiError | None:
    """The API error for a service error (None: not a known one, i.e. a 500)."""
    if isinstance(exc, ApiError):
        return exc
    classes = _error_classes()
    if isinstance(exc, classes["unavailable"]):
        return ApiError(
            503,
            f"{exc} (start it with `twin serve`, or deploy with `twin step deploy`)",
            type="model_unavailable",
            headers={"Retry-After": "10"},
        )
    if isinstance(exc, classes["link"]):
        return ApiError(400, str(exc), type="link_refused", field="links")
    if isinstance(exc, classes["guard"]):
        status = int(getattr(exc, "status", 400) or 400)
        guard, reason = getattr(exc, "guard", "guardrail"), getattr(exc, "reason", str(exc))
        return ApiError(status, f"blocked by the {guard} guardrail: {reason}", type="guardrail_blocked", field="query")
    return None

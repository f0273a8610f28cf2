"""Integration fixtures shared across modules: the RAG stack (Triton + vectors) stops when the session ends."""

from __future__ import annotations

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the shared RAG stack's tritonserver while logging still works (atexit is only the fallback)."""
    import sys

    stack_module = sys.modules.get("rag_stack") or sys.modules.get("tests.integration.rag_stack")
    if stack_module is not None:
        stack_module._close_shared()

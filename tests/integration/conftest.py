"""Integration fixtures shared across modules: the RAG stack (Triton + vectors) stops when the session ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_core.domain.documents import CleanedDocument


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the shared RAG stack's tritonserver while logging still works (atexit is only the fallback)."""
    import sys

    stack_module = sys.modules.get("rag_stack") or sys.modules.get("tests.integration.rag_stack")
    if stack_module is not None:
        stack_module._close_shared()


@pytest.fixture(scope="session")
def demo_docs() -> list[CleanedDocument]:
    """The demo corpus as cleaned documents (what the feature step stores), for the dataset tests."""
    from twin_core.datasets.demo_docs import demo_cleaned_documents

    return demo_cleaned_documents()


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, demo_docs: list[CleanedDocument]) -> Path:
    """A tiny chat model with a tokenizer trained on the demo corpus, built once per session."""
    from twin_core.llm.tiny import build_tiny_chat_model

    return build_tiny_chat_model(tmp_path_factory.mktemp("base") / "tiny", [d.content for d in demo_docs])

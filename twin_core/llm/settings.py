"""Which LLM answers generation and judging requests, and how politely it is called."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from twin_core.config.base import Settings


class LLMSettings(Settings):
    """An LLM endpoint; keys come from the environment variable named by ``api_key_env``, never from conf/."""

    provider: Literal["openai", "triton", "transformers"] = "transformers"
    model: str = Field(min_length=1, description="Model name (OpenAI-compatible, Triton) or local path.")
    base_url: str | None = Field(default=None, description="http(s) URL of an OpenAI-compatible API or of Triton.")
    api_key_env: str | None = Field(default=None, description="Env var holding the API key, e.g. OPENAI_API_KEY.")
    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float = Field(default=0.95, gt=0, le=1)
    max_tokens: int = Field(default=256, gt=0)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    concurrency: int = Field(default=4, ge=1, le=256)
    requests_per_s: float | None = Field(default=None, gt=0)
    backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles per retry (max 30 s).")
    json_mode: bool = Field(
        default=False, description="Send response_format=json_object with JSON requests (OpenAI, vLLM, Ollama)."
    )
    tokenizer: str | None = Field(
        default=None, description="Tokenizer (path or hub id) whose chat template renders prompts for Triton."
    )
    batch_size: int = Field(default=8, ge=1, le=512, description="Prompts generated together (transformers).")
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?|mps|auto)$")
    seed: int | None = Field(default=None, description="Sampling seed, so generated text is reproducible.")

    @model_validator(mode="after")
    def _url_for_remote(self) -> LLMSettings:
        if self.provider in ("openai", "triton") and not (self.base_url or "").startswith(("http://", "https://")):
            raise ValueError(f"provider {self.provider!r} needs base_url (http[s]://...), got {self.base_url!r}")
        return self

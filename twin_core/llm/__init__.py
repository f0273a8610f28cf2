"""The one LLM client boundary: OpenAI-compatible HTTP, the twin's Triton endpoint, or in-process transformers."""

from twin_core.llm.chat import Message, render_chat, render_chatml
from twin_core.llm.client import BaseLLMClient, GenParams, LLMClient, make_client
from twin_core.llm.errors import LLMError, StructuredOutputError
from twin_core.llm.ratelimit import RateLimiter
from twin_core.llm.settings import LLMSettings
from twin_core.llm.structured import Failure, extract_json, parse_structured

__all__ = [
    "BaseLLMClient",
    "Failure",
    "GenParams",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "Message",
    "RateLimiter",
    "StructuredOutputError",
    "extract_json",
    "make_client",
    "parse_structured",
    "render_chat",
    "render_chatml",
]

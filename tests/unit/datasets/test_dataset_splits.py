"""Split by document with a fixed seed: same seed, same ids in the same order and byte-identical files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from twin_core.datasets.render import features, instruction_row
from twin_core.datasets.splits import held_out_documents, split_by_document
from twin_core.domain.samples import InstructionSample


class ChatMLTokenizer:
    """Enough of a tokenizer for rendering: ChatML via the same Jinja template transformers uses."""

    def apply_chat_template(self, messages: list[dict[str, str]], tokenize: bool, add_generation_prompt: bool) -> str:
        from twin_core.llm.chat import render_chatml

        return render_chatml(messages, add_generation_prompt=add_generation_prompt)


def _samples(make_sample: Callable[..., InstructionSample]) -> list[InstructionSample]:
    out = []
    for d in range(24):
        category = ("article", "post", "code")[d % 3]
        for k in range(3):
            out.append(
                make_sample(f"Answer {k} of document {d}, long enough.", document_id=f"doc-{d}", category=category)
            )
    return out


def _save(samples: list[InstructionSample], test_docs: set[str], folder: Path) -> dict[str, str]:
    from datasets import Dataset, DatasetDict

    train, test = split_by_document(samples, test_docs)
    schema = features("instruction")
    dsd = DatasetDict()
    for name, part in (("train", train), ("test", test)):
        rows = [instruction_row(s, ChatMLTokenizer(), None) for s in part]
        dsd[name] = Dataset.from_dict({c: [r[c] for r in rows] for c in schema}, features=schema)
    dsd.save_to_disk(str(folder))
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_the_same_split_and_byte_identical_files(
    make_sample: Callable[..., InstructionSample], tmp_path: Path
) -> None:
    samples = _samples(make_sample)
    held = held_out_documents(samples, 0.2, seed=42)
    assert held == held_out_documents(list(reversed(samples)), 0.2, seed=42)
    first, second = split_by_document(samples, held), split_by_document(list(reversed(samples)), held)
    assert [s.id for s in first[0]] == [s.id for s in second[0]] and [s.id for s in first[1]] == [
        s.id for s in second[1]
    ]
    files_a = _save(samples, held, tmp_path / "a")
    files_b = _save(list(reversed(samples)), held_out_documents(samples, 0.2, seed=42), tmp_path / "b")
    assert any(name.endswith(".arrow") for name in files_a) and files_a == files_b


def test_a_different_seed_holds_out_different_documents(make_sample: Callable[..., InstructionSample]) -> None:
    samples = _samples(make_sample)
    assert held_out_documents(samples, 0.2, seed=1) != held_out_documents(samples, 0.2, seed=2)


def test_no_document_is_in_both_splits_and_every_category_is_tested(
    make_sample: Callable[..., InstructionSample],
) -> None:
    samples = _samples(make_sample)
    held = held_out_documents(samples, 0.1, seed=42)
    train, test = split_by_document(samples, held)
    assert {s.document_id for s in train}.isdisjoint({s.document_id for s in test})
    assert len(train) + len(test) == len(samples)
    assert {s.category for s in test} == {"article", "post", "code"}
    assert len(held) == 3  # ceil(0.1 * 8) per category


def test_a_category_with_one_document_stays_in_train(make_sample: Callable[..., InstructionSample]) -> None:
    lone = [make_sample("Only document of its kind.", document_id="solo", category="code")]
    assert held_out_documents(lone, 0.5, seed=0) == set()

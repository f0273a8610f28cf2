"""Decontamination: train samples sharing a word n-gram with the test answers or an evaluation file are removed."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from twin_core.domain.samples import InstructionSample

_TOKEN = re.compile(r"\w+")
EVAL_KEYS = ("instruction", "prompt", "question", "input", "answer", "output", "response", "text", "chosen")


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams (none for texts shorter than ``n`` words)."""
    words = _TOKEN.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def ngram_index(texts: Iterable[str], n: int) -> set[tuple[str, ...]]:
    """Every n-gram of every text."""
    index: set[tuple[str, ...]] = set()
    for text in texts:
        index |= ngrams(text, n)
    return index


def load_eval_texts(paths: Sequence[Path]) -> list[str]:
    """Texts of evaluation items: JSONL/JSON records (their usual text fields) or paragraphs of a text file."""
    texts: list[str] = []
    for path in paths:
        raw = Path(path).read_text(encoding="utf-8")
        if path.suffix in (".jsonl", ".json"):
            records = [json.loads(ln) for ln in raw.splitlines() if ln.strip()] if path.suffix == ".jsonl" else None
            if records is None:
                data = json.loads(raw)
                records = data if isinstance(data, list) else [data]
            for rec in records:
                if isinstance(rec, str):
                    texts.append(rec)
                elif isinstance(rec, dict):
                    texts.extend(str(rec[k]) for k in EVAL_KEYS if isinstance(rec.get(k), str))
        else:
            texts.extend(p for p in re.split(r"\n\s*\n", raw) if p.strip())
    return texts


def decontaminate(
    train: Sequence[InstructionSample],
    test: Sequence[InstructionSample],
    *,
    n: int,
    eval_texts: Sequence[str] = (),
) -> tuple[list[InstructionSample], Counter[str]]:
    """Drop train samples whose answer shares an n-gram with a test answer, or whose text, with an eval item."""
    test_index = ngram_index((s.answer for s in test), n)
    eval_index = ngram_index(eval_texts, n)
    kept, dropped = [], Counter[str]()
    for sample in train:
        if ngrams(sample.answer, n) & test_index:
            dropped["overlaps_test_split"] += 1
        elif eval_index and (ngrams(sample.answer, n) | ngrams(sample.instruction, n)) & eval_index:
            dropped["overlaps_eval_file"] += 1
        else:
            kept.append(sample)
    return kept, dropped

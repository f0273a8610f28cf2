"""CPU int8 dynamic quantization and its effect vs the float model: state-dict bytes, tokens/s, held-out perplexity.

    python -m twin_core.serving.quantize <model dir> [--out DIR] [--heldout FILE] [--prompts 4] [--max-tokens 16]

Both models get the same prompts (greedy, exactly ``max_tokens`` new tokens each) and the same held-out texts;
the report goes to ``quantization_report.{json,md}`` next to the model (or in ``--out``).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

from twin_core.serving.lineage import now, write_json
from twin_core.serving.settings import QuantizationReportSettings

BUILTIN_HELDOUT = (
    "the quick brown fox jumps over a lazy dog while my twin writes short notes about serving models",
    "serving models on a small machine means batching requests and keeping the weights small",
    "my twin writes about the quick notes a lazy dog would never read",
    "a short note about models: quantised weights are smaller and often faster on a cpu",
    "the brown dog jumps while the fox writes notes about serving",
    "over the week I wrote notes about twin models and serving them to readers",
)


def load_texts(path: str | Path | None, limit: int) -> list[str]:
    """Held-out texts: one per line of a ``.txt``, or the ``text``/``output``/``answer`` of each JSONL row."""
    if path is None:
        return list(BUILTIN_HELDOUT)[:limit]
    lines = [ln for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    if str(path).endswith(".jsonl"):
        rows = [json.loads(ln) for ln in lines]
        lines = [next((str(r[k]) for k in ("text", "output", "answer", "content") if r.get(k)), "") for r in rows]
    texts = [t for t in lines if t.strip()][:limit]
    if not texts:
        raise ValueError(f"no held-out text in {path}")
    return texts


def load(path: Path, quantized: bool) -> tuple[Any, Any]:
    """The model (float32, or int8-dynamic Linear layers) and its tokenizer, as the CPU server loads them."""
    from twin_core.serving.generation import TextGenerator

    gen = TextGenerator.from_pretrained(path, quantization="int8_dynamic" if quantized else "none")
    return gen.model, gen.tokenizer


def state_dict_bytes(model: Any) -> int:
    """Bytes of the serialised state dict (packed int8 weights and their scales included)."""
    import torch

    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell()


def perplexity(model: Any, tokenizer: Any, texts: list[str]) -> tuple[float, int]:
    """Token-level perplexity over ``texts`` (every predicted token weighs the same) and the tokens scored."""
    import torch

    nll, count = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt")["input_ids"]
            if ids.shape[1] < 2:
                continue
            loss = model(input_ids=ids, labels=ids).loss
            nll += float(loss) * (ids.shape[1] - 1)
            count += ids.shape[1] - 1
    if count == 0:
        raise ValueError("held-out texts are too short to score")
    return math.exp(nll / count), count


def generation_speed(model: Any, tokenizer: Any, prompts: list[str], max_tokens: int) -> dict[str, Any]:
    """Greedy generation of exactly ``max_tokens`` per prompt, one at a time: tokens/s and the completions."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    kwargs = {"max_new_tokens": max_tokens, "min_new_tokens": max_tokens, "do_sample": False, "pad_token_id": pad}
    outputs: list[str] = []
    with torch.inference_mode():
        model.generate(**tokenizer(prompts[0], return_tensors="pt"), **kwargs)  # warm-up
        started = time.perf_counter()
        for prompt in prompts:
            enc = tokenizer(prompt, return_tensors="pt")
            ids = model.generate(**enc, **kwargs)
            outputs.append(tokenizer.decode(ids[0, enc["input_ids"].shape[1] :], skip_special_tokens=True))
        seconds = time.perf_counter() - started
    tokens = max_tokens * len(prompts)
    return {
        "tokens": tokens,
        "seconds": round(seconds, 4),
        "tokens_per_s": round(tokens / seconds, 2),
        "texts": outputs,
    }


def measure(path: Path, quantized: bool, prompts: list[str], texts: list[str], max_tokens: int) -> dict[str, Any]:
    """Size, speed and perplexity of one variant of the model at ``path``."""
    model, tokenizer = load(path, quantized)
    ppl, scored = perplexity(model, tokenizer, texts)
    speed = generation_speed(model, tokenizer, prompts, max_tokens)
    return {"state_dict_bytes": state_dict_bytes(model), "perplexity": round(ppl, 4), "scored_tokens": scored} | speed


def compare(model_dir: Path, settings: QuantizationReportSettings) -> dict[str, Any]:
    """The report: float (``none``) vs ``cpu_int8_dynamic`` on the same prompts and held-out texts."""
    import torch

    texts = load_texts(settings.heldout_path, settings.max_texts)
    prompts = [" ".join(t.split()[: max(1, len(t.split()) // 2)]) for t in texts][: settings.prompts]
    base = measure(Path(model_dir), False, prompts, texts, settings.max_tokens)
    quant = measure(Path(model_dir), True, prompts, texts, settings.max_tokens)
    same = sum(a == b for a, b in zip(base.pop("texts"), quant.pop("texts"), strict=True))
    return {
        "model": str(model_dir),
        "created_at": now(),
        "machine": {"node": platform.node(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__},
        "heldout": settings.heldout_path or "built-in texts",
        "prompts": len(prompts),
        "max_tokens": settings.max_tokens,
        "none": base,
        "cpu_int8_dynamic": quant,
        "size_ratio": round(quant["state_dict_bytes"] / base["state_dict_bytes"], 4),
        "speedup": round(quant["tokens_per_s"] / base["tokens_per_s"], 3),
        "perplexity_delta": round(quant["perplexity"] - base["perplexity"], 4),
        "greedy_agreement": round(same / len(prompts), 3),
    }


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    rows = [("state dict bytes", "state_dict_bytes"), ("tokens/s", "tokens_per_s"), ("perplexity", "perplexity")]
    lines = [
        f"# CPU quantization report: {report['model']}",
        "",
        f"{report['created_at']}, {report['machine']['node']}, torch {report['machine']['torch']} "
        f"({report['machine']['torch_threads']} threads); {report['prompts']} prompts x {report['max_tokens']} "
        f"tokens; held-out: {report['heldout']}.",
        "",
        "| | none (float32) | cpu_int8_dynamic |",
        "|---|---:|---:|",
        *(f"| {label} | {report['none'][k]} | {report['cpu_int8_dynamic'][k]} |" for label, k in rows),
        "",
        f"Size x{report['size_ratio']}, speed x{report['speedup']}, perplexity {report['perplexity_delta']:+}, "
        f"greedy outputs identical for {report['greedy_agreement']:.0%} of prompts.",
    ]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """``quantization_report.json`` and ``.md`` in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "quantization_report.md"
    md.write_text(markdown(report), encoding="utf-8")
    return write_json(out_dir / "quantization_report.json", report), md


def main(argv: list[str] | None = None) -> int:
    """CLI: report for one saved model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--heldout", default=None)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args(argv)
    settings = QuantizationReportSettings(prompts=args.prompts, max_tokens=args.max_tokens, heldout_path=args.heldout)
    report = compare(args.model_dir, settings)
    paths = write_report(report, args.out or args.model_dir)
    print(markdown(report), f"written: {paths[0]} {paths[1]}", sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Training throughput: our Axolotl runner beside plain TRL on CPU; the sft_lora recipe on a GPU when one is present.

    TWIN_AXOLOTL_PYTHON=.venv-axolotl/bin/python .venv/bin/python bench/training.py            # auto: GPU or CPU
    .venv/bin/python bench/training.py --rows 64 --epochs 1 --no-write

CPU: the demo base model (tiny Llama, tokenizer trained on the demo corpus) is SFT-trained with the ``cpu_tiny``
recipe through ``run_axolotl`` and, in the same run, with plain TRL (SFTTrainer + peft LoRA, ``use_cpu=True``) on
the same rows and hyperparameters. Tokens/s = tokens of the data (chat template, truncated) x epochs / train_runtime
(the trainer's own clock, imports and model loading excluded). GPU: a Llama-3.2-1B-shaped model with random weights
and the demo tokenizer, trained with ``sft_lora``; tokens/s and peak memory as Axolotl logs them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "disabled")

from twin_core.config.loader import load_settings
from twin_core.features.corpus import load_corpus
from twin_core.training.demo_model import build_demo_model
from twin_core.training.recipes import RunPaths, render, write_config
from twin_core.training.runner import axolotl_env, run_axolotl
from twin_core.training.tracking import parse_log_records

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Training (`bench/training.py`)"


def sft_rows(limit: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Demo corpus texts, and (instruction, paragraph) conversations cut from them."""
    texts, rows = [], []
    for doc in load_corpus():
        if doc.category == "code":
            continue
        body = "\n\n".join(str(v) for v in doc.content.values() if v)
        texts.append(body)
        for para in re.split(r"\n\s*\n", body):
            if len(para) >= 200 and not para.startswith(("#", "```")):
                ask = f"Write a paragraph for your post '{doc.title}'."
                rows.append({"messages": [{"role": "user", "content": ask}, {"role": "assistant", "content": para}]})
    return texts, rows[:limit]


def count_tokens(model_dir: Path, rows: list[dict[str, Any]], seq_len: int) -> int:
    """Tokens one epoch feeds the model: each conversation through the chat template, cut at ``seq_len``."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    texts = [tok.apply_chat_template(r["messages"], tokenize=False) for r in rows]
    return sum(min(seq_len, len(tok(t, add_special_tokens=False)["input_ids"])) for t in texts)


def run_ours(recipe: Any, model: Any, base: Path, data: Path, work: Path) -> dict[str, Any]:
    """The recipe rendered and trained through our runner; returns the trainer's summary and wall time."""
    paths = RunPaths(str(base), data, None, work, "bench")
    config = write_config(render(recipe, model, paths), work / "axolotl.yaml")
    started = time.perf_counter()
    lines = run_axolotl("train", [str(config)], cwd=work, log_path=work / "train.log", env=axolotl_env())
    records, summary = parse_log_records(lines)
    peak = max((r.get("memory/max_allocated (GiB)", 0.0) for r in records), default=0.0)
    tps = [r["tokens/train_per_sec_per_gpu"] for r in records if "tokens/train_per_sec_per_gpu" in r]
    return summary | {"wall_s": time.perf_counter() - started, "peak_gib": peak, "axolotl_tps": tps}


def run_trl(recipe: Any, base: Path, rows: list[dict[str, Any]], seq_len: int, work: Path) -> dict[str, Any]:
    """The same data and hyperparameters with plain TRL SFTTrainer + peft LoRA on the CPU."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    started = time.perf_counter()
    data = Dataset.from_list([{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows])
    lora = recipe.lora
    peft = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules="all-linear")
    args = SFTConfig(
        output_dir=str(work),
        num_train_epochs=recipe.epochs,
        per_device_train_batch_size=recipe.micro_batch_size,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps,
        learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler,
        warmup_steps=recipe.warmup_ratio,  # a float below 1 is a ratio (transformers 5)
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm,
        optim=recipe.optimizer,
        max_length=seq_len,
        logging_steps=recipe.logging_steps,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        bf16=False,
        fp16=False,
        seed=recipe.seed,
        dataloader_num_workers=0,
    )
    model = AutoModelForCausalLM.from_pretrained(base)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=data,
        processing_class=AutoTokenizer.from_pretrained(base),
        peft_config=peft,
    )
    with contextlib.redirect_stdout(io.StringIO()):  # TRL prints every logged dict; keep the report readable
        metrics = trainer.train().metrics
    return {
        "train_runtime": metrics["train_runtime"],
        "train_loss": metrics["train_loss"],
        "wall_s": time.perf_counter() - started,
    }


def cpu_bench(args: argparse.Namespace, work: Path) -> list[str]:
    """cpu_tiny through our runner vs plain TRL, same rows, same hyperparameters, same process tree."""
    texts, rows = sft_rows(args.rows)
    base = build_demo_model(texts, work / "base", steps=args.pretrain_steps)
    cfg = load_settings([f"paths.data_dir={work}", "trainer=cpu_tiny", f"trainer.epochs={args.epochs}"])
    recipe = cfg.trainer.model_copy(update={"eval": False, "wandb_project": None, "save_steps": 10_000})
    seq_len = recipe.sequence_len or cfg.model.max_seq_length
    data = work / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tokens = count_tokens(base, rows, seq_len) * args.epochs
    ours = run_ours(recipe, cfg.model, base, data, work / "ours")
    trl = run_trl(recipe, base, rows, seq_len, work / "trl")
    tps_ours, tps_trl = tokens / ours["train_runtime"], tokens / trl["train_runtime"]
    params = json.loads((base / "pretrain_metrics.json").read_text())["parameters"]
    return [
        f"demo model ({params:,} parameters), {len(rows)} rows x {args.epochs} epochs = {tokens:,} tokens, "
        f"recipe cpu_tiny (LoRA r={recipe.lora.r}, batch {recipe.micro_batch_size}, seq {seq_len})",
        "",
        "```",
        f"{'run':<40}{'train s':>9}{'wall s':>9}{'tokens/s':>10}{'loss':>8}",
        f"{'our runner (axolotl train subprocess)':<40}{ours['train_runtime']:>9.2f}{ours['wall_s']:>9.1f}"
        f"{tps_ours:>10.0f}{ours.get('train_loss', float('nan')):>8.3f}",
        f"{'plain TRL SFTTrainer + peft (in-process)':<40}{trl['train_runtime']:>9.2f}{trl['wall_s']:>9.1f}"
        f"{tps_trl:>10.0f}{trl['train_loss']:>8.3f}",
        f"ours / TRL tokens/s: {tps_ours / tps_trl:.2f}x",
        "```",
        "",
        "train s is each trainer's own clock (same scope: the training loop); wall s adds, for our runner, the",
        "Axolotl process start (imports), tokenizing and saving the dataset, and loading the model.",
    ]


def gpu_bench(args: argparse.Namespace, work: Path) -> list[str]:
    """sft_lora on a Llama-3.2-1B-shaped model (random weights, bf16) with the demo tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from twin_core.training.demo_model import train_tokenizer

    texts, rows = sft_rows(args.rows)
    tok = train_tokenizer(texts, 2048)
    shape = {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32}
    config = LlamaConfig(vocab_size=len(tok), num_key_value_heads=8, max_position_embeddings=4096, **shape)
    config.bos_token_id, config.eos_token_id, config.pad_token_id = tok.bos_token_id, tok.eos_token_id, tok.pad_token_id
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    base = work / "llama-1b-shape"
    model.save_pretrained(base)
    tok.save_pretrained(base)
    params = sum(p.numel() for p in model.parameters())
    del model
    cfg = load_settings([f"paths.data_dir={work}", "trainer=sft_lora", "model=hub", f"model.base={base}"])
    recipe = cfg.trainer.model_copy(
        update={"eval": False, "wandb_project": None, "epochs": args.epochs, "save_steps": 10_000}
    )
    model_cfg = cfg.model.model_copy(update={"chat_template": "chatml"})
    data = work / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tokens = count_tokens(base, rows, model_cfg.max_seq_length) * args.epochs
    ours = run_ours(recipe, model_cfg, base, data, work / "ours")
    logged = ours["axolotl_tps"]
    return [
        f"{torch.cuda.get_device_name(0)}; Llama-3.2-1B shape ({params / 1e6:,.0f} M parameters with the 2,048-token "
        f"demo vocabulary), random bf16 weights, recipe sft_lora, {len(rows)} rows x {args.epochs} epochs "
        f"= {tokens:,} tokens",
        "",
        "```",
        f"train_runtime {ours['train_runtime']:.1f} s, wall {ours['wall_s']:.1f} s",
        f"tokens/s (data tokens / train_runtime): {tokens / ours['train_runtime']:,.0f}",
        f"tokens/s per GPU (Axolotl's own, last step): {logged[-1] if logged else float('nan'):,.0f}",
        f"peak memory allocated: {ours['peak_gib']:.2f} GiB",
        "```",
    ]


def write_section(lines: list[str]) -> None:
    """Replace (or append) the Training section of bench/RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = HEADING + "\n\n" + "\n".join(lines).rstrip() + "\n"
    pattern = re.compile(re.escape(HEADING) + r".*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pretrain-steps", type=int, default=50, help="demo base pretraining (CPU); speed only")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    import torch

    gpu = torch.cuda.is_available() if args.device == "auto" else args.device == "gpu"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, torch {torch.__version__}"
    with tempfile.TemporaryDirectory(prefix="twin-bench-train-") as tmp:
        body = (gpu_bench if gpu else cpu_bench)(args, Path(tmp))
    lines = [f"{stamp}, {machine}, {'GPU' if gpu else 'CPU'} run.", "", *body]
    print("\n".join(lines))
    if not args.no_write:
        write_section(lines)
        print(f"\nwritten to {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

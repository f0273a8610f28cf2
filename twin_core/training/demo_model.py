"""Tiny demo base model: a byte-level BPE tokenizer and a small Llama trained briefly on the author's text."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("twin.training.demo_model")

BOS, EOS, PAD, UNK = "<s>", "<|im_end|>", "<pad>", "<unk>"
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = [UNK, BOS, PAD, IM_START, IM_END]
# ChatML, identical to Axolotl's ``chat_template: chatml`` so training and serving format prompts the same way.
CHATML_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'"
    " + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}\n"
)
MAX_POSITIONS = 2048


def train_tokenizer(texts: list[str], vocab_size: int) -> object:
    """Train a byte-level BPE tokenizer offline and wrap it as a ``PreTrainedTokenizerFast`` with ChatML."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=[IM_START],
        model_max_length=MAX_POSITIONS,
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def _blocks(texts: list[str], tokenizer: object, seq_len: int) -> object:
    """Concatenate the documents (each closed by EOS) and cut them into ``seq_len`` blocks."""
    import torch

    ids: list[int] = []
    for text in texts:
        ids.extend(tokenizer.backend_tokenizer.encode(text, add_special_tokens=False).ids)
        ids.append(tokenizer.eos_token_id)
    while len(ids) < seq_len:
        ids = ids + ids
    n = len(ids) // seq_len
    return torch.tensor(ids[: n * seq_len], dtype=torch.long).view(n, seq_len)


def pretrain(model: object, blocks: object, *, steps: int, batch_size: int, lr: float, seed: int) -> list[float]:
    """Plain torch loop (AdamW, linear warm-up then cosine decay); returns the loss of every step."""
    import math

    import torch

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.95))
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    )
    model.train()
    losses: list[float] = []
    for step in range(steps):
        idx = torch.randint(0, blocks.shape[0], (batch_size,), generator=gen)
        batch = blocks[idx]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(round(float(loss.item()), 4))
        if step % max(1, steps // 10) == 0 or step == steps - 1:
            log.info("demo pretrain step=%d/%d loss=%.4f", step + 1, steps, losses[-1])
    model.eval()
    return losses


def build_demo_model(
    texts: Iterable[str],
    out_dir: Path,
    *,
    vocab_size: int = 2048,
    hidden: int = 128,
    layers: int = 2,
    heads: int = 4,
    seq_len: int = 256,
    steps: int = 200,
    batch_size: int = 8,
    lr: float = 3e-3,
    seed: int = 0,
) -> Path:
    """Build, briefly pretrain and save a tiny Llama labelled DEMO with its ChatML tokenizer; deterministic per seed."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    docs = [t for t in texts if t and t.strip()]
    if not docs:
        raise ValueError("build_demo_model needs at least one non-empty text")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    torch.manual_seed(seed)
    tokenizer = train_tokenizer(docs, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    blocks = _blocks(docs, tokenizer, seq_len)
    losses = pretrain(model, blocks, steps=steps, batch_size=batch_size, lr=lr, seed=seed)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    metrics = {
        "demo": True,
        "seed": seed,
        "steps": steps,
        "seq_len": seq_len,
        "documents": len(docs),
        "train_tokens": int(blocks.numel()),
        "parameters": sum(p.numel() for p in model.parameters()),
        "first_loss": losses[0],
        "final_loss": losses[-1],
        "losses": losses,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out_dir / "pretrain_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "README.md").write_text(_model_card(config, metrics))
    log.info("demo model saved path=%s params=%d final_loss=%.4f", out_dir, metrics["parameters"], losses[-1])
    return out_dir


def _model_card(config: object, m: dict[str, object]) -> str:
    """A model card that says plainly this is a DEMO model."""
    return f"""---
tags: [demo, llm-twin, llama]
license: apache-2.0
---
# DEMO model: LLM Twin tiny base (not for real use)

**This is a DEMO model.** It is a tiny Llama-architecture model ({m["parameters"]:,} parameters) pretrained for
{m["steps"]} steps on {m["documents"]} documents ({m["train_tokens"]:,} tokens) of the author's own writing, so the
training pipeline (SFT then DPO) can run end to end on a CPU in minutes. Its output is not meant to be good.
Select a real checkpoint with `model.base=<hub id or path>`.

- architecture: LlamaForCausalLM, hidden {config.hidden_size}, layers {config.num_hidden_layers},
  heads {config.num_attention_heads}, vocab {config.vocab_size}
- tokenizer: byte-level BPE trained on the same text; ChatML chat template (`<|im_start|>` / `<|im_end|>`)
- pretraining: seed {m["seed"]}, sequence length {m["seq_len"]}, loss {m["first_loss"]} -> {m["final_loss"]}
"""

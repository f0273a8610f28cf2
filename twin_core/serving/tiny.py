"""A tiny random Llama with a word-level tokenizer, built offline in a second: for serving tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

TEXT = "the quick brown fox jumps over a lazy dog while my twin writes short notes about serving models"
SPECIALS = ("<unk>", "<s>", "</s>", "<pad>")


def build_tiny_llama(out: Path, *, seed: int = 0, hidden: int = 64, layers: int = 2, heads: int = 4) -> Path:
    """Save a random ``LlamaForCausalLM`` and its tokenizer to ``out``; its output is readable words."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate([*SPECIALS, *sorted(set(TEXT.split()))])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        pad_token_id=vocab["<pad>"],
    )
    out = Path(out)
    LlamaForCausalLM(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


def greedy_reference(path: Path, prompt: str, max_tokens: int) -> str:
    """Plain transformers greedy ``generate`` for ``prompt`` (completion only): the yardstick for served output."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    enc = tok(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    return str(tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True))

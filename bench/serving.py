"""Serving throughput and latency: Triton (HTTP) with and without dynamic batching vs calling the model in-process.

    .venv/bin/python bench/serving.py                  # tiny model, concurrency 1, 4, 16; writes bench/RESULTS.md
    .venv/bin/python bench/serving.py --max-tokens 16 --no-write

One tiny random Llama (word-level tokenizer), the same fixed prompts and greedy ``max_tokens`` everywhere. In-process
is ``TextGenerator.generate`` called from N threads (one request per call, as an app embedding the model would);
Triton serves the same weights twice in one server: ``twin_llm`` with dynamic batching (the deploy default) and
``twin_llm_nobatch`` without. Every path runs with one torch thread, so the table compares scheduling, not cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from twin_core.serving.client import TritonLLMClient
from twin_core.serving.generation import GenerationRequest, TextGenerator
from twin_core.serving.model_configs import TEMPLATES, cpu_model_config, write_config
from twin_core.serving.repository import add_version
from twin_core.serving.settings import CpuModelSettings, DynamicBatchingSettings, QuantizationSettings, ServingSettings
from twin_core.serving.tiny import build_tiny_llama
from twin_core.serving.triton_server import TritonServer

PROMPTS = ["the quick brown fox", "my twin writes", "a lazy dog while", "serving models about", "short notes over"]
LEVELS = {1: 48, 4: 96, 16: 192}  # concurrency -> requests
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def run_level(call: Callable[[str], str], concurrency: int, requests: int) -> dict[str, float]:
    """``requests`` calls from ``concurrency`` threads: requests/s and latency percentiles (ms)."""
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(requests)]

    def timed(prompt: str) -> float:
        t0 = time.perf_counter()
        call(prompt)
        return time.perf_counter() - t0

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(timed, prompts[:concurrency]))  # warm-up: connections, first batch
        t0 = time.perf_counter()
        latencies = list(pool.map(timed, prompts))
        wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {"rps": requests / wall, "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def repository(root: Path, weights: Path, max_batch: int, delay_us: int) -> Path:
    """Two CPU models on the same weights: dynamic batching on (``twin_llm``) and off (``twin_llm_nobatch``)."""
    repo = root / "repo"
    for name, batching in (("twin_llm", True), ("twin_llm_nobatch", False)):
        db = DynamicBatchingSettings(enabled=batching, max_queue_delay_us=delay_us)
        serving = ServingSettings(
            repository_dir=str(repo),
            model_name=name,
            max_batch_size=max_batch,
            cpu=CpuModelSettings(torch_threads=1, dynamic_batching=db, stream_model=False),
        )
        write_config(repo, name, cpu_model_config(serving, QuantizationSettings()))
        add_version(repo, name, weights, code=TEMPLATES / "twin_llm" / "1" / "model.py")
    return repo


def table(rows: list[tuple[str, int, dict[str, float]]]) -> str:
    """The figures, one row per path and concurrency."""
    lines = [f"{'path':<34} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"]
    lines += [f"{name:<34} {c:>4} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p99']:>8.1f}" for name, c, r in rows]
    return "\n".join(lines)


def ratios(rows: list[tuple[str, int, dict[str, float]]]) -> str:
    """Batching on / off and Triton / in-process, requests/s at each concurrency."""
    by = {(n, c): r["rps"] for n, c, r in rows}
    parts = [
        f"c={c}: batching on/off {by[('Triton HTTP', c)] / by[('Triton HTTP (no batching)', c)]:.2f}x, "
        f"Triton/in-process {by[('Triton HTTP', c)] / by[('in-process TextGenerator', c)]:.2f}x"
        for c in LEVELS
    ]
    return "\n".join(parts)


def write_results(header: str, body: str) -> None:
    """Replace (or append) the ``## Serving`` section of bench/RESULTS.md; other sections stay as they are."""
    text = RESULTS.read_text() if RESULTS.is_file() else "# Benchmark results\n"
    note = (
        "At concurrency 1 the dynamic batcher can only add its queue delay; from 4 requests in flight it groups\n"
        "them into one padded `generate` call, which is where Triton pulls ahead of per-request calls (in-process\n"
        "calls share one model behind a lock, so they queue instead)."
    )
    header = textwrap.fill(header, 110)
    section = f"## Serving (`bench/serving.py`)\n\n{header}\n\n```\n{body}\n```\n\n{note}\n"
    pattern = re.compile(r"^## Serving \(`bench/serving\.py`\)\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--delay-us", type=int, default=2000, help="dynamic batching max_queue_delay_microseconds")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = time.perf_counter()
    rows: list[tuple[str, int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = build_tiny_llama(Path(tmp) / "tiny")
        gen = TextGenerator.from_pretrained(weights, threads=1)
        for c, n in LEVELS.items():
            one = lambda p: gen.generate([GenerationRequest(p, max_tokens=args.max_tokens)])[0]  # noqa: E731
            rows.append(("in-process TextGenerator", c, run_level(one, c, n)))
        expected = {p: gen.generate([GenerationRequest(p, max_tokens=args.max_tokens)])[0] for p in PROMPTS}
        repo = repository(Path(tmp), weights, args.max_batch, args.delay_us)
        models = ["twin_llm", "twin_llm_nobatch"]
        with TritonServer(repo, load_models=models, env={"OMP_NUM_THREADS": "1"}) as server:
            for model, label in zip(models, ("Triton HTTP", "Triton HTTP (no batching)"), strict=True):
                client = TritonLLMClient(server.http_url, model=model, timeout_s=60)
                got = {p: client.generate(p, max_tokens=args.max_tokens) for p in PROMPTS}
                assert got == expected, f"{model} answers differ from in-process generation"
                for c, n in LEVELS.items():
                    call = lambda p, client=client: client.generate(p, max_tokens=args.max_tokens)  # noqa: E731
                    rows.append((label, c, run_level(call, c, n)))
    header = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; tiny Llama (2 layers, hidden 64), greedy {args.max_tokens} tokens, "
        f"1 torch thread per path, requests per level {dict(LEVELS)}, max_batch_size {args.max_batch}, "
        f"queue delay {args.delay_us} us. Triton answers equal in-process generation for every prompt."
    )
    body = table(rows) + "\n" + ratios(rows)
    print(f"# bench/serving.py  {header}\n{body}\n({time.perf_counter() - started:.0f} s)")
    if not args.no_write:
        write_results(header, body)
        print(f"written: {RESULTS}")


if __name__ == "__main__":
    main()

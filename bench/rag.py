"""RAG latency: the full Retriever (self-query + PRF expansion + hybrid search + RRF) vs plain top-k vector search,
at 1k / 10k / 100k chunks, and answers end to end (retrieval + prompt + Triton) vs plain top-k + the same model,
both in process and through the API (``POST /v1/generate`` over real HTTP, JSON and streamed), in the same run.

    .venv/bin/python bench/rag.py            # 1k, 10k, 100k chunks + end to end; writes the RAG section of RESULTS.md
    .venv/bin/python bench/rag.py --quick    # 1k only, fewer queries
    .venv/bin/python bench/rag.py --no-write

Stores hold synthetic chunks: random unit 384-d vectors (nothing is embedded at build time) with text drawn from
the demo corpus's paragraphs, so full-text search and PRF terms are meaningful. Queries are embedded by the real
MiniLM model in both paths. End to end uses the real tritonserver with the tiny model and its tokenizer; the API is
``ApiServer`` (uvicorn on a free port, API key auth, the prompt monitor writing to a temporary warehouse) serving a
RagService over the same store and server, with the default guardrails.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pyarrow as pa

from twin_core.demo.fixture_corpus import default_corpus_dir, load_docs
from twin_core.domain.documents import Author
from twin_core.vectorstore.lance import LanceVectorStore, _schema

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
QUERIES = [
    "How do you know if your embeddings are lying to you?",
    "What makes a good on-call alert?",
    "Ysolde Brannagh on Medium about backfills",
    "How should I chunk documents for retrieval?",
    "testing ML systems without losing your mind",
    "why write a newsletter about data plumbing",
    "deduplication of near-identical records",
    "small models and cheap inference bills",
]
E2E_ROUNDS = 3
E2E_NOTE = f"""
End to end, the paths take turns per round over the same {len(QUERIES)} questions, {E2E_ROUNDS} rounds, against
one tritonserver (tiny model, one instance). The API is `ApiServer` (uvicorn, API-key auth, body limit, the
prompt monitor writing each request to the embedded warehouse) over real HTTP with keep-alive, serving a
RagService with the default guardrails; its overhead is the client's wall time minus the service's own
`total_s`. The prompt log is written after the response is sent (in a worker thread), so it competes with the
next request for the CPUs instead of adding to its own wall time. A streamed answer's first byte is its first
token: the API starts the SSE response once the model has written one (so a failure before it is still an HTTP
status). The full pipeline's extra cost over plain top-k is retrieval (self-query, PRF query expansion, hybrid
search, RRF), not the API.
"""
AUTHOR = Author(full_name="Ysolde Brannagh", handle="ysoldebuilds")
PLATFORMS = ["medium", "substack", "web", "linkedin"]


def paragraphs() -> list[str]:
    out = []
    for kind in ("medium", "substack", "blog", "notes", "linkedin/posts"):
        for doc in load_docs(default_corpus_dir(), kind):
            out += [p.strip() for p in doc.body.split("\n\n") if len(p.strip()) > 80]
    return out


def build_store(root: Path, n: int, texts: list[str], seed: int = 0) -> LanceVectorStore:
    """``n`` chunks in batches straight into LanceDB (no embedding), then the FTS index."""
    store = LanceVectorStore(root / f"s{n}", "chunks", fts_reindex_rows=10**9)
    store.ensure_collection("sentence-transformers/all-MiniLM-L6-v2", 384)
    table = store._open()
    rng = np.random.default_rng(seed)
    schema = _schema("sentence-transformers/all-MiniLM-L6-v2", 384)
    for start in range(0, n, 20_000):
        m = min(20_000, n - start)
        vecs = rng.standard_normal((m, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        rows = [
            {
                "id": f"c{start + i}",
                "document_id": f"d{(start + i) // 5}",
                "author_id": AUTHOR.id,
                "author_name": AUTHOR.full_name,
                "category": "article",
                "platform": PLATFORMS[(start + i) % len(PLATFORMS)],
                "link": f"https://example.org/{(start + i) // 5}",
                "position": (start + i) % 5,
                "content": texts[(start + i) % len(texts)] + f" (variant {start + i})",
                "metadata": "{}",
                "embedding_model": "sentence-transformers/all-MiniLM-L6-v2",
                "vector": vecs[i].tolist(),
            }
            for i in range(m)
        ]
        table.add(pa.Table.from_pylist(rows, schema=schema))
    from lancedb.index import FTS

    table.create_index("content", config=FTS(), name="content_idx", replace=True)
    return store


def timed(fn: Callable[[str], object], queries: list[str], repeat: int) -> np.ndarray:
    fn(queries[0])  # warm-up
    out = []
    for _ in range(repeat):
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            out.append(time.perf_counter() - t0)
    return np.array(out) * 1000


def interleaved(
    paths: dict[str, Callable[[str], dict[str, float]]], queries: list[str], repeat: int
) -> dict[str, dict[str, np.ndarray]]:
    """Each path over every query, ``repeat`` rounds, the paths taking turns within a round (so drift in the
    machine's load hits them alike). A path returns its marks in seconds since it started (e.g. first token)."""
    for fn in paths.values():
        fn(queries[0])  # warm-up
    out: dict[str, dict[str, list[float]]] = {name: {} for name in paths}
    for _ in range(repeat):
        for name, fn in paths.items():
            for q in queries:
                for mark, s in fn(q).items():
                    out[name].setdefault(mark, []).append(s)
    return {name: {mark: np.array(v) * 1000 for mark, v in marks.items()} for name, marks in out.items()}


def total(fn: Callable[[str], object]) -> Callable[[str], dict[str, float]]:
    """``fn`` as an :func:`interleaved` path: its wall time as the ``total`` mark."""

    def run(q: str) -> dict[str, float]:
        t0 = time.perf_counter()
        fn(q)
        return {"total": time.perf_counter() - t0}

    return run


def pct(ms: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def retrieval_bench(sizes: list[int], repeat: int) -> list[str]:
    from twin_core.features.embedding import Embedder
    from twin_core.features.settings import EmbeddingSettings
    from twin_core.rag.retriever import Retriever
    from twin_core.rag.settings import RagSettings

    embed = Embedder(
        EmbeddingSettings(model_id="sentence-transformers/all-MiniLM-L6-v2", dimension=384, dtype="float32")
    ).embed_query
    rag = RagSettings()  # defaults: self-query rules, PRF x3, hybrid, RRF, top 5
    texts = paragraphs()
    lines = [f"{'chunks':>7}  {'pipeline p50/p99 ms':>20}  {'top-k p50/p99 ms':>17}  {'p50 ratio':>9}  build s"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            t0 = time.perf_counter()
            store = build_store(Path(tmp), n, texts)
            build_s = time.perf_counter() - t0
            retriever = Retriever(rag, store, embed, lambda: [AUTHOR])
            full = timed(lambda q, r=retriever: r.retrieve(q), QUERIES, repeat)
            plain = timed(lambda q, s=store: s.search(embed(q), rag.top_k), QUERIES, repeat)
            (fp50, fp99), (pp50, pp99) = pct(full), pct(plain)
            line = f"{n:>7}  {fp50:>9.1f} / {fp99:>8.1f}  {pp50:>7.1f} / {pp99:>7.1f}  {fp50 / pp50:>8.1f}x"
            line += f"  {build_s:.1f}"
            print(line, flush=True)
            lines.append(line)
            store.close()
    return lines


def bench_settings(data_dir: Path) -> Any:
    """The composed config (for the API: auth, limits, monitoring), its data folder under ``data_dir``."""
    from hydra.core.global_hydra import GlobalHydra

    from twin_core.config.loader import load_settings

    try:
        return load_settings([f"paths.data_dir={data_dir}"])
    finally:
        GlobalHydra.instance().clear()


def e2e_bench(repeat: int) -> list[str]:
    import httpx

    from twin_core.api.server import ApiServer
    from twin_core.features.embedding import Embedder
    from twin_core.features.settings import EmbeddingSettings
    from twin_core.guardrails import Guardrails
    from twin_core.llm.chat import load_chat_tokenizer
    from twin_core.rag.prompts import build_prompt, resolve_content_type
    from twin_core.rag.retriever import Retriever
    from twin_core.rag.service import AnswerRequest, RagService, TritonGenerator
    from twin_core.rag.settings import RagSettings
    from twin_core.serving.repository import copy_models
    from twin_core.serving.tiny import build_tiny_llama
    from twin_core.serving.triton_dist import prepare_runtime
    from twin_core.serving.triton_server import TritonServer

    max_tokens = 16
    embed = Embedder(
        EmbeddingSettings(model_id="sentence-transformers/all-MiniLM-L6-v2", dimension=384, dtype="float32")
    ).embed_query
    rag = RagSettings.model_validate(
        {"content_types": {"answer": {"instructions": "Answer briefly.", "max_tokens": max_tokens}}}
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        weights = build_tiny_llama(root / "tiny")
        store = build_store(root, 10_000, paragraphs())
        repo = copy_models(root / "repo", params={"model_path": str(weights), "torch_threads": "1"}, instance_count=1)
        server = TritonServer(
            repo, load_models=["twin_llm", "twin_llm_stream"], runtime=prepare_runtime(), env={"OMP_NUM_THREADS": "1"}
        )
        cfg = bench_settings(root / "data")
        with server:
            gen = TritonGenerator(server.http_url, server.grpc_url)
            tok = load_chat_tokenizer(str(weights))
            retriever = Retriever(rag, store, embed, lambda: [AUTHOR])
            guards = Guardrails(cfg.guardrails)
            svc = RagService(rag, retriever, gen, tokenizer=tok, guardrails=guards, author_name=AUTHOR.full_name)
            _, ct = resolve_content_type(rag, None)

            def plain_prompt(q: str) -> str:
                hits = store.search(embed(q), rag.top_k)
                return build_prompt(q, hits, [], ct, rag, AUTHOR.full_name, tok).text

            def plain(q: str) -> str:
                return gen.generate(plain_prompt(q), max_tokens=max_tokens, temperature=0.0, top_p=1.0)

            def plain_stream(q: str) -> dict[str, float]:
                t0 = time.perf_counter()
                marks = {}
                for _ in gen.stream(plain_prompt(q), max_tokens=max_tokens, temperature=0.0, top_p=1.0):
                    marks.setdefault("first", time.perf_counter() - t0)
                return marks | {"total": time.perf_counter() - t0}

            def service_stream(q: str) -> dict[str, float]:
                t0 = time.perf_counter()
                marks = {}
                for event in svc.stream(AnswerRequest(q, temperature=0.0)):
                    if event.kind == "delta":
                        marks.setdefault("first", time.perf_counter() - t0)
                return marks | {"total": time.perf_counter() - t0}

            api_server = ApiServer(cfg, host="127.0.0.1", port=0, keys=[secrets.token_urlsafe(24)], service=svc)
            with api_server as api, httpx.Client(base_url=api.url, headers=api.headers(), timeout=60) as http:

                def api_answer(q: str) -> dict[str, float]:
                    t0 = time.perf_counter()
                    r = http.post("/v1/generate", json={"query": q, "temperature": 0.0})
                    wall = time.perf_counter() - t0
                    r.raise_for_status()
                    got = r.json()
                    assert got["sources"], r.text
                    # the API's own cost (HTTP, auth, validation, JSON) is the wall time the service's total_s leaves
                    inner = got["timings"]["total_s"]
                    return {"total": wall, "inner": inner, "overhead": wall - inner}

                def api_stream(q: str) -> dict[str, float]:
                    t0 = time.perf_counter()
                    marks: dict[str, float] = {}
                    body = {"query": q, "temperature": 0.0, "stream": True}
                    with http.stream("POST", "/v1/generate", json=body) as r:
                        r.raise_for_status()
                        seen = ""
                        for chunk in r.iter_text():
                            marks.setdefault("byte", time.perf_counter() - t0)
                            seen += chunk
                            if "delta" not in marks and re.search(r"^event: delta$", seen, re.M):
                                marks["delta"] = time.perf_counter() - t0
                    assert "event: done" in seen, seen[-500:]
                    return marks | {"total": time.perf_counter() - t0}

                got = interleaved(
                    {
                        "service": total(lambda q: svc.answer(AnswerRequest(q, temperature=0.0))),
                        "api": api_answer,
                        "plain": total(plain),
                        "service_sse": service_stream,
                        "api_sse": api_stream,
                        "plain_sse": plain_stream,
                    },
                    QUERIES,
                    repeat,
                )
    api_sse, base_sse = got["api_sse"], got["plain_sse"]
    (fp50, fp99), (ap50, ap99), (bp50, bp99) = (pct(got[k]["total"]) for k in ("service", "api", "plain"))

    def two(ms: np.ndarray) -> str:
        p50, p99 = pct(ms)
        return f"{p50:>7.1f} / {p99:>7.1f}"

    return [
        f"end to end, 10k chunks, {max_tokens} new tokens, Triton HTTP     p50 ms   p99 ms",
        f"RagService.answer (full retrieval pipeline)      {fp50:>8.1f} {fp99:>8.1f}",
        f"POST /v1/generate over HTTP (the API)            {ap50:>8.1f} {ap99:>8.1f}",
        f"plain top-k + same prompt + same model           {bp50:>8.1f} {bp99:>8.1f}",
        f"ratio p50: service/plain {fp50 / bp50:.2f}x, API/plain {ap50 / bp50:.2f}x",
        f"inside the API: the service's total_s p50/p99 ms {two(got['api']['inner'])}, "
        f"the rest (HTTP, auth, validation, JSON) {two(got['api']['overhead'])}",
        "",
        "streamed (Triton gRPC), p50 / p99 ms            first byte        first token           total",
        f"POST /v1/generate stream=true (SSE)         {two(api_sse['byte'])}  {two(api_sse['delta'])}"
        f"  {two(api_sse['total'])}",
        f"RagService.stream                                               {two(got['service_sse']['first'])}"
        f"  {two(got['service_sse']['total'])}",
        f"plain top-k + same prompt + gRPC stream                        {two(base_sse['first'])}"
        f"  {two(base_sse['total'])}",
        f"ratio first-token p50: API/plain {pct(api_sse['delta'])[0] / pct(base_sse['first'])[0]:.2f}x",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1k chunks only, fewer queries, no end-to-end run")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write bench/RESULTS.md")
    args = ap.parse_args()
    random.seed(0)
    load = os.getloadavg()[0]  # other work on the machine skews every figure: recorded with them
    sizes = [1_000] if args.quick else [1_000, 10_000, 100_000]
    repeat = 2 if args.quick else 4
    print("== retrieval latency (8 queries x repeat)", flush=True)
    lines = retrieval_bench(sizes, repeat)
    e2e: list[str] = []
    if not args.quick:
        print("== end to end", flush=True)
        e2e = e2e_bench(E2E_ROUNDS)
        print("\n".join(e2e), flush=True)
    if args.no_write:
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join([*lines, *(["", *e2e] if e2e else [])])
    section = (
        f"\n## RAG (`bench/rag.py{' --quick' if args.quick else ''}`)\n\n"
        f"{stamp}, {platform.node()}, {os.cpu_count()} CPUs, no GPU, 1 torch thread, "
        f"Python {platform.python_version()}, load average {load:.1f} at the start."
        "\n\n```\n" + body + "\n```\n" + (E2E_NOTE if e2e else "")
    )
    write_section(section)
    print(f"wrote the RAG section of {RESULTS}")


def write_section(section: str) -> None:
    """Replace the section with this heading in RESULTS.md (up to the next ``## ``), or append it."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
    heading = section.strip("\n").split("\n", 1)[0]
    found = re.search(r"\n" + re.escape(heading) + r"\n.*?(?=\n## |\Z)", text, re.S)
    # the rest after a found section: "" or "\n## <next section>"
    text = text[: found.start()] + section + text[found.end() :] if found else text.rstrip("\n") + "\n" + section
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

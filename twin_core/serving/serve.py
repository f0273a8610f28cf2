"""``twin serve``: Triton on the deployed model repository, in the foreground, until Ctrl-C.

    twin serve                                   # http://127.0.0.1:8000, grpc://127.0.0.1:8001
    twin serve serving.http_port=9000 serving.grpc_port=9001

While it runs, ``twin step deploy`` (another terminal) hot-swaps a new version into this server.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from twin_core.serving.repository import versions
from twin_core.serving.server_state import clear_record, record_server, running_server
from twin_core.serving.triton_server import TritonServer

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings


def triton_for(
    cfg: TwinSettings,
    repository: Path,
    *,
    load_models: list[str] | None = None,
    configured_ports: bool = True,
    log_name: str = "tritonserver.log",
    die_with_parent: bool = True,
) -> TritonServer:
    """A (not yet started) TritonServer on ``repository`` as ``cfg.serving`` says: host, ports (free ones when
    ``configured_ports`` is false), startup timeout; its log under ``<data_dir>/logs/``."""
    s = cfg.serving
    return TritonServer(
        repository,
        http_port=s.http_port if configured_ports else 0,
        grpc_port=s.grpc_port if configured_ports else 0,
        host=s.host,
        load_models=load_models,
        log_file=Path(cfg.paths.data_dir) / "logs" / log_name,
        startup_timeout_s=s.startup_timeout_s,
        die_with_parent=die_with_parent,
    )


def served_models(repository: Path) -> list[str]:
    """Models of the repository with at least one numeric version folder (canaries excluded)."""
    if not repository.is_dir():
        return []
    names = (p.name for p in sorted(repository.iterdir()) if (p / "config.pbtxt").is_file())
    return [n for n in names if not n.endswith("_canary") and versions(repository, n)]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(overrides: Sequence[str] = ()) -> int:
    """Serve ``serving.repository_dir`` until interrupted; 1 when there is nothing deployed to serve."""
    from twin_core.config.loader import load_settings

    cfg = load_settings(list(overrides))
    s = cfg.serving
    if s.backend != "triton_python":
        print("serving.backend=tensorrt_llm: run the 'serve' line of the engine step's commands.sh in the GPU image")
        return 2
    repo = Path(s.repository_dir)
    models = served_models(repo)
    if not models:
        print(f"error: no deployed model in {repo}; run `twin step deploy` first", file=sys.stderr)
        return 1
    if (record := running_server(repo)) is not None:
        print(f"Triton already serves {repo} (pid {record.pid}): {record.http_url} {record.grpc_url}")
        return 0
    server = triton_for(cfg, repo, load_models=models)
    log_file = server.log_file
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.start()
        record_server(repo, server, "twin serve", log_file)
        print(f"Triton serves {', '.join(models)} from {repo}")
        print(f"  HTTP  {server.http_url}   (curl {server.http_url}/v2/models/{s.model_name})")
        print(f"  gRPC  {server.grpc_url}")
        print(f"  log   {log_file}\nCtrl-C stops it.", flush=True)
        code = server.wait()
        print(f"tritonserver exited with code {code}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping Triton ...", flush=True)
        return 0
    finally:
        server.stop()
        clear_record(repo)

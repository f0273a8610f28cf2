"""The Triton server a deploy or ``twin serve`` left running: a state file (pid, URLs) beside the repository."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from twin_core.serving.admin import TritonAdmin
from twin_core.serving.lineage import now, write_json

log = logging.getLogger("twin.serving.triton")
STATE_FILE = ".server.json"


@dataclass(frozen=True)
class ServerRecord:
    """Where a running server answers, who started it, and where it logs."""

    pid: int
    http_url: str
    grpc_url: str
    started_by: str
    started_at: str
    log_file: str


def state_path(repository: Path) -> Path:
    """``<repository>/.server.json`` (a file: Triton only takes folders as models)."""
    return Path(repository) / STATE_FILE


def write_record(repository: Path, *, pid: int, http_url: str, grpc_url: str, started_by: str, log_file: str) -> Path:
    """Record a running server for later deploys (reload instead of start) and ``twin serve``."""
    record = ServerRecord(pid, http_url, grpc_url, started_by, now(), log_file)
    return write_json(state_path(repository), asdict(record))


def record_server(repository: Path, server: Any, started_by: str, log_file: Path) -> Path:
    """Record a started TritonServer (pid, URLs, log) so later steps reuse or stop it."""
    return write_record(
        repository,
        pid=server.pid or 0,
        http_url=server.http_url,
        grpc_url=server.grpc_url,
        started_by=started_by,
        log_file=str(log_file),
    )


def read_record(repository: Path) -> ServerRecord | None:
    """The recorded server, if a state file is there."""
    path = state_path(repository)
    if not path.is_file():
        return None
    return ServerRecord(**json.loads(path.read_text()))


def clear_record(repository: Path) -> None:
    """Forget the recorded server."""
    state_path(repository).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (reaping it first if it is our own exited child)."""
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_server(repository: Path) -> ServerRecord | None:
    """The recorded server if its process lives and it answers ready; a stale record is removed."""
    record = read_record(repository)
    if record is None:
        return None
    if pid_alive(record.pid) and TritonAdmin(record.http_url).is_ready():
        return record
    log.warning("stale server record pid=%s url=%s; removed", record.pid, record.http_url)
    clear_record(repository)
    return None


def stop_recorded(repository: Path, timeout_s: float = 30.0) -> bool:
    """Stop the recorded server (SIGINT to its process group, SIGKILL after ``timeout_s``); whether one ran."""
    record = read_record(repository)
    if record is None or not pid_alive(record.pid):
        clear_record(repository)
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout_s
    while pid_alive(record.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pid, signal.SIGKILL)  # what is left: the server or its backend stubs
    while pid_alive(record.pid) and time.monotonic() < deadline + 5:
        time.sleep(0.1)
    clear_record(repository)
    log.info("tritonserver stopped pid=%d", record.pid)
    return True

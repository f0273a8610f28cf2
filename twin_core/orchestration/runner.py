"""Run one step for an orchestrator: in a subprocess of the project's environment (default) or in-process.

A crash or out-of-memory in a step then never takes the Airflow worker down, and the task log shows
the step's own log lines as they happen.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("twin.orchestration")


class StepProcessError(RuntimeError):
    """The step's process exited non-zero; the message carries the exit code and the last log lines."""


class StepNotOk(RuntimeError):
    """The step ran but returned ``ok=False`` (e.g. every link failed): the task fails and Airflow retries it."""


def twin_python() -> str:
    """The interpreter of the project's environment: ``$TWIN_PYTHON`` or the current one."""
    return os.environ.get("TWIN_PYTHON", sys.executable)


def run_stage(
    stage: str,
    overrides: Sequence[str] = (),
    *,
    mode: Literal["subprocess", "in_process"] = "subprocess",
    env: dict[str, str] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Run ``twin step <stage> <overrides>`` and return its StepResult as a JSON-safe dict."""
    overrides = [o for o in overrides if o and o.strip()]
    if mode == "in_process":
        from twin_core.config.loader import load_settings
        from twin_core.pipeline.runner import run_step

        result = run_step(stage, load_settings(overrides)).to_xcom()
        if not result["ok"]:
            raise StepNotOk(f"step {stage!r} returned ok=False: {result['message']}")
        return result
    if mode != "subprocess":
        raise ValueError(f"run_stage runs 'subprocess' or 'in_process', not {mode!r} (containers: operators/)")
    with tempfile.TemporaryDirectory(prefix="twin-step-") as tmp:
        result_file = Path(tmp) / "result.json"
        cmd = [twin_python(), "-m", "twin_core.cli", "step", stage, *overrides, "--result-file", str(result_file)]
        log.info("running step in subprocess", extra={"stage": stage, "cmd": " ".join(cmd)})
        code, tail = _stream(cmd, {**os.environ, **(env or {})}, timeout_s)
        if code != 0 or not result_file.exists():
            raise StepProcessError(f"step {stage!r} exited with code {code}:\n" + "\n".join(tail[-15:]))
        results = json.loads(result_file.read_text())
    return results[-1]


def _stream(cmd: list[str], env: dict[str, str], timeout_s: float | None) -> tuple[int, list[str]]:
    """Run ``cmd``, echoing its output; it is stopped if we stop early (timeout, task killed, exception).

    It stays in the worker's process group, so a signal to the whole task reaches it as well.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    timer = threading.Timer(timeout_s, _stop, (proc,)) if timeout_s else None
    tail: deque[str] = deque(maxlen=40)
    try:
        if timer:
            timer.start()
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            print(line, flush=True)
            tail.append(line)
        return proc.wait(), list(tail)
    finally:
        if timer:
            timer.cancel()
        if proc.poll() is None:  # timeout, task killed, or an exception while streaming
            _stop(proc)
        if proc.stdout:
            proc.stdout.close()


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the step's process, then SIGKILL after 10 s."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue

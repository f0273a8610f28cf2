"""Run one step for an orchestrator: in a subprocess of the project's environment (default) or in-process.

A crash or out-of-memory in a step then never takes the Airflow worker down, and the task log shows
the step's own log lines as they happen.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("twin.orchestration")


class StepProcessError(RuntimeError):
    """The step's process exited non-zero; the message carries the exit code and the last log lines."""


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

        return run_step(stage, load_settings(overrides)).to_xcom()
    with tempfile.TemporaryDirectory(prefix="twin-step-") as tmp:
        result_file = Path(tmp) / "result.json"
        cmd = [twin_python(), "-m", "twin_core.cli", "step", stage, *overrides, "--result-file", str(result_file)]
        log.info("running step in subprocess", extra={"stage": stage, "cmd": " ".join(cmd)})
        tail: list[str] = []
        with subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                print(line, flush=True)
                tail = [*tail[-40:], line]
            code = proc.wait(timeout=timeout_s)
        if code != 0 or not result_file.exists():
            raise StepProcessError(f"step {stage!r} exited with code {code}:\n" + "\n".join(tail[-15:]))
        results = json.loads(result_file.read_text())
    return results[-1]

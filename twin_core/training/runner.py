"""Axolotl as a subprocess of its own environment: logs streamed line by line, exit code checked, resumable runs."""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from twin_core.config.compose import repo_root

log = logging.getLogger("twin.training.axolotl")
AXOLOTL_ENV = "TWIN_AXOLOTL_PYTHON"
TAIL_LINES = 40
PROGRESS_EVERY_S = 10.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PROGRESS = re.compile(r"\d+%\|")
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class AxolotlMissing(RuntimeError):
    """The Axolotl environment is not installed where we look for it."""


class AxolotlFailed(RuntimeError):
    """An Axolotl command exited non-zero; the message carries the log tail."""

    def __init__(self, command: str, returncode: int, tail: Sequence[str], log_path: Path | None):
        self.command, self.returncode, self.tail, self.log_path = command, returncode, list(tail), log_path
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
        where = f"; full log: {log_path}" if log_path else ""
        super().__init__(f"axolotl {command} {how}{where}\n--- last lines ---\n" + "\n".join(tail))


def axolotl_python() -> Path:
    """The Axolotl environment's python: ``$TWIN_AXOLOTL_PYTHON`` or ``<repo>/.venv-axolotl/bin/python``."""
    env = os.environ.get(AXOLOTL_ENV)
    path = Path(env) if env else repo_root() / ".venv-axolotl" / "bin" / "python"
    if not path.exists():
        raise AxolotlMissing(
            f"Axolotl environment not found at {path} (from {'$' + AXOLOTL_ENV if env else 'the default location'}); "
            "run `make setup` to create .venv-axolotl, or point $TWIN_AXOLOTL_PYTHON at a python with axolotl==0.19"
        )
    return path


def axolotl_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The subprocess environment: no telemetry, offline hub, one OpenMP thread unless set, W&B offline by default."""
    env = dict(os.environ)
    env |= {"AXOLOTL_DO_NOT_TRACK": "1", "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"}
    for key, value in {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}.items():
        env.setdefault(key, value)
    if not env.get("WANDB_API_KEY"):
        env.setdefault("WANDB_MODE", "offline")
    env.pop("PYTHONPATH", None)  # the project's packages must not shadow the Axolotl environment's
    return env | dict(extra or {})


class _LineRouter:
    """Decides how loud each Axolotl line is: the config dump and banner quietly, progress bars throttled."""

    def __init__(self) -> None:
        self.in_dump, self.last_progress = False, 0.0

    def level(self, line: str) -> int | None:
        if self.in_dump:
            self.in_dump = line != "}"
            return logging.DEBUG
        if line.endswith("[axolotl.cli.config] config:"):
            self.in_dump = True
            return logging.DEBUG
        if "@@" in line and not line.startswith("["):
            return logging.DEBUG
        if _PROGRESS.search(line) and "{'" not in line:
            now = time.monotonic()
            if "100%|" not in line and now - self.last_progress < PROGRESS_EVERY_S:
                return None
            self.last_progress = now
        return logging.INFO


def run_axolotl(
    command: str,
    args: Sequence[str],
    *,
    cwd: Path,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    python: Path | None = None,
    pid_file: Path | None = None,
) -> list[str]:
    """Run ``axolotl <command> <args>``; each output line goes to the log file and our logger; returns the lines."""
    exe = python or axolotl_python()
    cmd = [str(exe), str(Path(__file__).with_name("axolotl_main.py")), command, *args]
    if command in ("train", "preprocess") and "--launcher" not in args:
        cmd += ["--launcher", "python"]  # the default launcher execs `accelerate` from $PATH
    log.info("axolotl %s started", command, extra={"cmd": " ".join(cmd), "cwd": str(cwd)})
    started, tail, lines, router = time.perf_counter(), collections.deque(maxlen=TAIL_LINES), [], _LineRouter()
    sink = log_path.open("a", encoding="utf-8") if log_path else None
    proc_env = dict(env) if env is not None else axolotl_env()
    proc_env["PATH"] = f"{Path(exe).parent}{os.pathsep}{proc_env.get('PATH', '')}"  # that venv's torchrun
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=proc_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        start_new_session=True,  # its own process group: stopped as a whole on interrupt
    )
    if pid_file:
        pid_file.write_text(str(proc.pid))
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = _ANSI.sub("", raw.rstrip("\n")).rstrip()
            if sink:
                sink.write(line + "\n")
            if not line.strip():
                continue
            lines.append(line)
            tail.append(line)
            level = router.level(line)
            if level is not None:
                log.log(level, line)
        rc = proc.wait()
    except BaseException:
        _stop(proc)
        raise
    finally:
        if sink:
            sink.close()
        if pid_file:
            pid_file.unlink(missing_ok=True)
    seconds = round(time.perf_counter() - started, 1)
    if rc != 0:
        raise AxolotlFailed(command, rc, tail, log_path)
    log.info("axolotl %s finished", command, extra={"seconds": seconds})
    return lines


def multi_gpu_args() -> list[str]:
    """``axolotl train`` flags of DeepSpeed/FSDP recipes: torchrun, one process per visible GPU (or $TWIN_GPUS)."""
    return ["--launcher", "torchrun", "--", "--nproc_per_node", os.environ.get("TWIN_GPUS", "gpu")]


def _stop(proc: subprocess.Popen[str]) -> None:
    """Terminate the Axolotl process group, then kill it if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def checkpoints(output_dir: Path) -> list[Path]:
    """``checkpoint-N`` folders, oldest step first."""
    if not output_dir.is_dir():
        return []
    found = [p for p in output_dir.iterdir() if p.is_dir() and _CHECKPOINT.match(p.name)]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def remove_incomplete_checkpoints(output_dir: Path) -> list[Path]:
    """Delete checkpoints a crash left half-written (no ``trainer_state.json``), so resume picks a complete one."""
    removed = [p for p in checkpoints(output_dir) if not (p / "trainer_state.json").is_file()]
    for path in removed:
        log.warning("removing incomplete checkpoint %s", path)
        shutil.rmtree(path)
    return removed


def validate_configs(files: Sequence[tuple[Path, bool]], *, python: Path | None = None) -> dict[Path, list[str]]:
    """Axolotl's own validation of rendered configs in one subprocess; ``(path, gpu)`` pairs -> errors per file."""
    script = Path(__file__).with_name("axolotl_validate.py")
    args: list[str] = []
    for path, gpu in files:
        args += ["--gpu" if gpu else "--cpu", str(path)]
    proc = subprocess.run(
        [str(python or axolotl_python()), str(script), *args],
        capture_output=True,
        text=True,
        env=axolotl_env(),
        timeout=600,
        check=False,
    )
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"path"')]
    if len(results) != len(files):
        raise RuntimeError(f"axolotl validation crashed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return {Path(r["path"]): r["errors"] for r in results}

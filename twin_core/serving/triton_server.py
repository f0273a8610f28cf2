"""Run the real ``tritonserver`` (from the nvidia-pytriton wheel) as a child process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Literal, Self

from twin_core.serving.admin import TritonAdmin, TritonServerError
from twin_core.serving.triton_dist import TritonRuntime, find_tritonserver, prepare_runtime

__all__ = ["TritonServer", "TritonServerError", "find_tritonserver", "free_port"]

log = logging.getLogger("twin.serving.triton")
HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = HOST) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, so a crashed test never leaves a server behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class TritonServer(TritonAdmin):
    """A tritonserver child process; a context manager that always stops what it started."""

    def __init__(
        self,
        model_repository: Path,
        *,
        http_port: int = 0,
        grpc_port: int = 0,
        metrics: bool = False,
        host: str = HOST,
        model_control: Literal["explicit", "none"] = "explicit",
        load_models: list[str] | None = None,
        log_verbose: int = 0,
        log_file: Path | None = None,
        startup_timeout_s: float = 120.0,
        exit_timeout_s: int = 15,
        env: dict[str, str] | None = None,
        runtime: TritonRuntime | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.model_repository = Path(model_repository).resolve()
        self.host = host
        self._fixed_ports = (http_port, grpc_port)
        self.http_port = http_port or free_port(host)
        self.grpc_port = grpc_port or free_port(host)
        self.metrics = metrics
        self.metrics_port = free_port(host) if metrics else 0
        self.model_control = model_control
        self.load_models = list(load_models or [])
        self.log_verbose = log_verbose
        self._own_log_dir: Path | None = None
        self.log_file = Path(log_file) if log_file else None
        self.startup_timeout_s = startup_timeout_s
        self.exit_timeout_s = exit_timeout_s
        self.extra_env = dict(env or {})
        self._runtime = runtime
        self.die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self._client_host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        """``grpc://127.0.0.1:<port>``."""
        return f"grpc://{self._client_host}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str | None:
        """``http://127.0.0.1:<port>/metrics`` when metrics are on."""
        return f"http://{self._client_host}:{self.metrics_port}/metrics" if self.metrics_port else None

    @property
    def _client_host(self) -> str:
        return HOST if self.host in ("0.0.0.0", "") else self.host

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc else None

    def command(self, runtime: TritonRuntime) -> list[str]:
        """The full tritonserver command line."""
        if not self.model_repository.is_dir():
            raise TritonServerError(f"model repository {self.model_repository} does not exist")
        shm_prefix = f"twin{os.getpid()}_{uuid.uuid4().hex[:8]}_"
        cmd = [
            str(runtime.dist.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={runtime.backend_dir}",
            f"--cache-directory={runtime.dist.caches_dir}",
            f"--backend-config=python,shm-region-prefix-name={shm_prefix}",
            f"--model-control-mode={self.model_control}",
            f"--http-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.host}",
            f"--grpc-port={self.grpc_port}",
            f"--allow-metrics={'true' if self.metrics_port else 'false'}",
            f"--log-verbose={self.log_verbose}",
            f"--exit-timeout-secs={self.exit_timeout_s}",
            "--disable-auto-complete-config",
        ]
        if self.metrics_port:
            cmd += [f"--metrics-address={self.host}", f"--metrics-port={self.metrics_port}"]
        if self.model_control == "explicit":
            cmd += [f"--load-model={m}" for m in self.load_models]
        return cmd

    def start(self) -> Self:
        """Launch the server and wait until ``/v2/health/ready``; on failure stop it and show the log tail."""
        if self._proc and self._proc.poll() is None:
            raise TritonServerError(f"tritonserver already running pid={self._proc.pid}")
        runtime = self._runtime or prepare_runtime()
        if self.log_file is None:
            self._own_log_dir = Path(tempfile.mkdtemp(prefix="tritonserver-"))
            self.log_file = self._own_log_dir / "server.log"
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            try:
                return self._launch(runtime)
            except TritonServerError as exc:
                if attempt == 2 or "already in use" not in str(exc) or any(self._fixed_ports):
                    raise
                log.warning("port taken between choosing and binding; retrying with new ports")
                self.http_port, self.grpc_port = free_port(self.host), free_port(self.host)
                self.metrics_port = free_port(self.host) if self.metrics else 0
        raise AssertionError("unreachable")

    def _launch(self, runtime: TritonRuntime) -> Self:
        cmd = self.command(runtime)
        started = time.perf_counter()
        with open(self.log_file or os.devnull, "ab") as out:
            self._proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=runtime.env() | self.extra_env,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
        log.info("tritonserver starting pid=%d http=%s grpc=%s log=%s", self._proc.pid, *self._urls(), self.log_file)
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop(keep_log=True)
            raise
        self.startup_s = round(time.perf_counter() - started, 2)
        log.info("tritonserver ready pid=%d seconds=%.2f", self._proc.pid, self.startup_s)
        return self

    def _urls(self) -> tuple[str, str]:
        return self.http_url, self.grpc_url

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout_s
        while time.perf_counter() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise TritonServerError(f"tritonserver exited with code {code} during startup\n{self.log_tail()}")
            if self.is_ready():
                return
            time.sleep(0.2)
        raise TritonServerError(f"tritonserver not ready after {self.startup_timeout_s:.0f}s\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the server log."""
        try:
            text = self.log_file.read_text(errors="replace") if self.log_file else ""
        except OSError:
            return "(no server log)"
        return "--- tritonserver log tail ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float | None = None, *, keep_log: bool = False) -> None:
        """SIGINT and wait (in-flight requests finish), then SIGKILL the whole process group; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        wait = self.exit_timeout_s + 5 if timeout_s is None else timeout_s
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                log.warning("tritonserver did not stop in %.0fs; killing pid=%d", wait, proc.pid)
        self._kill_group(proc)
        log.info("tritonserver stopped pid=%d code=%s", proc.pid, proc.returncode)
        if self._own_log_dir and not keep_log and proc.returncode == 0:
            shutil.rmtree(self._own_log_dir, ignore_errors=True)
        elif proc.returncode != 0:
            log.warning("tritonserver exited with code %s; log kept at %s", proc.returncode, self.log_file)

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL what is left of the server's process group (backend stubs included), then reap."""
        for _ in range(20):
            try:
                os.killpg(proc.pid, 0)
            except (ProcessLookupError, PermissionError):
                break
            if proc.poll() is not None:
                time.sleep(0.1)  # give stubs a moment to notice their parent is gone
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)

    def release(self) -> int | None:
        """Stop owning the process (it keeps running; pass ``die_with_parent=False`` to outlive us); its pid."""
        proc, self._proc = self._proc, None
        return proc.pid if proc else None

    def wait(self) -> int | None:
        """Block until the server exits (e.g. on Ctrl-C in ``twin serve``); its exit code."""
        return self._proc.wait() if self._proc else None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()

"""The ``tritonserver`` shipped in the nvidia-pytriton wheel, and the runtime it needs on this machine.

The wheel carries the server, its libraries (``nvidia_pytriton.libs``), the Python backend and one backend stub
per Python version. We prepare, once per environment and cached, a backend folder holding the stub for this
interpreter, and a *stub environment*: a tiny venv whose ``site`` adds this project's site-packages, with
``numpy<2`` first on the path, because the wheel's stubs are built against the NumPy 1 C API (with NumPy 2
every tensor they hand to Python reads its first element over and over).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("twin.serving.triton")

STUB_NUMPY_SPEC = "numpy>=1.26,<2"
_PROJECT_PTH = "zz_twin_project_site.pth"


class TritonNotAvailable(RuntimeError):
    """The tritonserver binary, its backend stub or its runtime cannot be found or prepared."""


@dataclass(frozen=True)
class TritonDist:
    """Paths inside the installed nvidia-pytriton wheel."""

    binary: Path
    libs_dir: Path
    python_backend_dir: Path
    caches_dir: Path
    stubs_dir: Path
    version: str

    def stub_for(self, python_version: str) -> Path:
        """The Python backend stub built for ``python_version`` ("3.11")."""
        stub = self.stubs_dir / python_version / "triton_python_backend_stub"
        if not stub.is_file():
            have = sorted(p.name for p in self.stubs_dir.iterdir()) if self.stubs_dir.is_dir() else []
            raise TritonNotAvailable(
                f"no Python backend stub for Python {python_version} in {self.stubs_dir}; has {have}"
            )
        return stub


def find_dist() -> TritonDist:
    """Locate the server, libraries, backend and stubs of the installed nvidia-pytriton wheel."""
    try:
        import pytriton
    except ImportError as exc:
        raise TritonNotAvailable("nvidia-pytriton is not installed: `pip install 'nvidia-pytriton>=0.5,<0.6'`") from exc
    root = Path(pytriton.__file__).resolve().parent
    server = root / "tritonserver"
    libs = root.parent / "nvidia_pytriton.libs"
    if not libs.is_dir():  # editable install of pytriton keeps them inside the package
        libs = server / "external_libs"
    dist = TritonDist(
        binary=server / "bin" / "tritonserver",
        libs_dir=libs,
        python_backend_dir=server / "backends" / "python",
        caches_dir=server / "caches",
        stubs_dir=server / "python_backend_stubs",
        version=importlib.metadata.version("nvidia-pytriton"),
    )
    for path in (dist.binary, dist.libs_dir, dist.python_backend_dir / "libtriton_python.so"):
        if not path.exists():
            raise TritonNotAvailable(f"nvidia-pytriton {dist.version} at {root} lacks {path}; reinstall the wheel")
    return dist


def find_tritonserver() -> Path:
    """Path of the ``tritonserver`` binary shipped in the nvidia-pytriton wheel."""
    return find_dist().binary


def runtime_root() -> Path:
    """Cache folder for this environment's prepared backend and stub env (``$TWIN_TRITON_HOME`` overrides)."""
    if env := os.environ.get("TWIN_TRITON_HOME"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(sys.prefix.encode()).hexdigest()[:10]
    return base / "llm-twin" / "triton" / f"py{sys.version_info[0]}{sys.version_info[1]}-{key}"


@dataclass(frozen=True)
class TritonRuntime:
    """Everything needed to launch the wheel's server with a working Python backend."""

    dist: TritonDist
    backend_dir: Path
    stub_env: Path

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Process environment: the wheel's libraries, this interpreter's libpython, the stub env first on PATH."""
        env = dict(os.environ if base is None else base)
        libpython = sysconfig.get_config_var("LIBDIR") or ""
        libs = [p for p in (libpython, str(self.dist.libs_dir), env.get("LD_LIBRARY_PATH", "")) if p]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libs)
        # The embedded interpreter finds its prefix by searching PATH for python3, so the stub env's comes first.
        env["PATH"] = os.pathsep.join([str(self.stub_env / "bin"), str(Path(sys.executable).parent), env["PATH"]])
        env.pop("PYTHONHOME", None)
        return env


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _install(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` unless an identical-size, not-older copy is there (atomic rename)."""
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and dst.stat().st_mtime >= src.stat().st_mtime:
        return
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def prepare_backend_dir(dist: TritonDist, root: Path) -> Path:
    """A ``--backend-directory`` tree with the Python backend and this interpreter's stub (idempotent)."""
    py = root / "backends" / "python"
    py.mkdir(parents=True, exist_ok=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        _install(dist.python_backend_dir / name, py / name)
    _install(dist.stub_for(f"{sys.version_info[0]}.{sys.version_info[1]}"), py / "triton_python_backend_stub")
    return root / "backends"


def _site_packages(env_dir: Path) -> Path:
    return env_dir / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def _numpy_major() -> int:
    return int(importlib.metadata.version("numpy").split(".")[0])


def stub_env_ready(env_dir: Path) -> bool:
    """Whether the stub env exists and, if this env has NumPy 2, holds its own NumPy 1."""
    site = _site_packages(env_dir)
    if not (site / _PROJECT_PTH).is_file():
        return False
    return _numpy_major() < 2 or any(site.glob("numpy-1.*.dist-info"))


def prepare_stub_env(root: Path, *, install: bool = True, numpy_spec: str = STUB_NUMPY_SPEC) -> Path:
    """Create the stub env (a venv seeing this project's packages) and, if needed, ``pip install`` NumPy 1 into it."""
    env_dir = root / "stub-env"
    site = _site_packages(env_dir)
    if not (env_dir / "pyvenv.cfg").is_file():
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(env_dir)
    project_sites = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    lines = [f"import site; site.addsitedir({p!r})" for p in project_sites]
    (site / _PROJECT_PTH).write_text("\n".join(lines) + "\n")
    if _numpy_major() >= 2 and not any(site.glob("numpy-1.*.dist-info")):
        if not install:
            raise TritonNotAvailable(
                f"the Triton Python backend stub needs {numpy_spec!r} in {site}; run `make triton-setup` "
                "(python -m twin_core.serving.triton_dist)"
            )
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:"]
        log.info("installing stub numpy spec=%s target=%s", numpy_spec, site)
        proc = subprocess.run([*cmd, "--target", str(site), numpy_spec], capture_output=True, text=True)
        if proc.returncode != 0:
            raise TritonNotAvailable(f"could not install {numpy_spec!r} for the backend stub:\n{proc.stderr[-2000:]}")
    return env_dir


def prepare_runtime(root: Path | None = None, *, install: bool = True) -> TritonRuntime:
    """Find the wheel's server and prepare (cached, process-safe) its backend folder and stub env."""
    dist = find_dist()
    root = Path(root) if root else runtime_root()
    with _locked(root):
        backend_dir = prepare_backend_dir(dist, root)
        env_dir = root / "stub-env"
        if not stub_env_ready(env_dir):
            prepare_stub_env(root, install=install)
    return TritonRuntime(dist=dist, backend_dir=backend_dir, stub_env=env_dir)


def main() -> None:
    """``python -m twin_core.serving.triton_dist``: prepare the runtime and print where it is."""
    logging.basicConfig(level=logging.INFO)
    rt = prepare_runtime()
    print(f"tritonserver {rt.dist.binary} (nvidia-pytriton {rt.dist.version})")
    print(f"backend dir  {rt.backend_dir}")
    print(f"stub env     {rt.stub_env}")


if __name__ == "__main__":
    main()

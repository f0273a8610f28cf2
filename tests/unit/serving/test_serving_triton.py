"""The wheel's tritonserver: locating it, preparing its backend folder and stub env, and its command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from twin_core.serving import triton_dist
from twin_core.serving.triton_dist import TritonRuntime, find_dist, find_tritonserver, prepare_backend_dir
from twin_core.serving.triton_server import TritonServer, TritonServerError, free_port, port_open


def test_finds_the_binary_libraries_and_this_pythons_stub() -> None:
    dist = find_dist()
    assert find_tritonserver() == dist.binary and os.access(dist.binary, os.X_OK)
    assert (dist.libs_dir).is_dir() and (dist.python_backend_dir / "libtriton_python.so").is_file()
    assert dist.stub_for("3.11").name == "triton_python_backend_stub"
    with pytest.raises(triton_dist.TritonNotAvailable, match=r"no Python backend stub for Python 2\.7"):
        dist.stub_for("2.7")


def test_backend_dir_is_prepared_once(tmp_path: Path) -> None:
    dist = find_dist()
    backends = prepare_backend_dir(dist, tmp_path)
    files = sorted(p.name for p in (backends / "python").iterdir())
    assert files == ["libtriton_python.so", "triton_python_backend_stub", "triton_python_backend_utils.py"]
    stub = backends / "python" / "triton_python_backend_stub"
    inode = stub.stat().st_ino
    prepare_backend_dir(dist, tmp_path)
    assert stub.stat().st_ino == inode and os.access(stub, os.X_OK)


def test_runtime_env_puts_wheel_libs_and_stub_env_first(tmp_path: Path) -> None:
    rt = TritonRuntime(dist=find_dist(), backend_dir=tmp_path / "backends", stub_env=tmp_path / "stub-env")
    env = rt.env({"PATH": "/usr/bin", "LD_LIBRARY_PATH": "/opt/lib", "PYTHONHOME": "/x"})
    assert str(rt.dist.libs_dir) in env["LD_LIBRARY_PATH"].split(os.pathsep)
    assert env["LD_LIBRARY_PATH"].endswith("/opt/lib")
    assert env["PATH"].split(os.pathsep)[0] == str(tmp_path / "stub-env" / "bin")
    assert "PYTHONHOME" not in env


def test_stub_env_needs_numpy_1_when_the_project_has_numpy_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(triton_dist, "_numpy_major", lambda: 2)
    with pytest.raises(triton_dist.TritonNotAvailable, match="make triton-setup"):
        triton_dist.prepare_stub_env(tmp_path, install=False)
    site = triton_dist._site_packages(tmp_path / "stub-env")
    assert "site.addsitedir" in (site / triton_dist._PROJECT_PTH).read_text()
    assert not triton_dist.stub_env_ready(tmp_path / "stub-env")
    (site / "numpy-1.26.4.dist-info").mkdir()
    assert triton_dist.stub_env_ready(tmp_path / "stub-env")


def test_command_binds_loopback_with_explicit_model_control(tmp_path: Path) -> None:
    rt = TritonRuntime(dist=find_dist(), backend_dir=tmp_path / "backends", stub_env=tmp_path / "env")
    server = TritonServer(tmp_path, load_models=["twin_llm", "twin_llm_stream"], log_file=tmp_path / "s.log")
    cmd = server.command(rt)
    assert cmd[0] == str(rt.dist.binary)
    for flag in (
        f"--model-repository={tmp_path.resolve()}",
        f"--backend-directory={tmp_path / 'backends'}",
        "--model-control-mode=explicit",
        "--http-address=127.0.0.1",
        "--grpc-address=127.0.0.1",
        f"--http-port={server.http_port}",
        f"--grpc-port={server.grpc_port}",
        "--allow-metrics=false",
        "--load-model=twin_llm",
        "--load-model=twin_llm_stream",
    ):
        assert flag in cmd
    assert any(c.startswith("--backend-config=python,shm-region-prefix-name=twin") for c in cmd)
    assert server.http_url == f"http://127.0.0.1:{server.http_port}" and server.grpc_url.startswith("grpc://")
    none = TritonServer(tmp_path, model_control="none", load_models=["x"], metrics=True).command(rt)
    assert "--model-control-mode=none" in none and not any(c.startswith("--load-model") for c in none)
    assert "--allow-metrics=true" in none


def test_missing_repository_and_idle_stop(tmp_path: Path) -> None:
    rt = TritonRuntime(dist=find_dist(), backend_dir=tmp_path, stub_env=tmp_path)
    with pytest.raises(TritonServerError, match="does not exist"):
        TritonServer(tmp_path / "nope", runtime=rt).start()
    TritonServer(tmp_path, runtime=rt).stop()  # nothing started: a no-op
    port = free_port()
    assert not port_open(port)

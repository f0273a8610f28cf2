"""run_stage: the subprocess contract (command, result file, exit codes, timeout) with a stand-in interpreter."""

from __future__ import annotations

import json
import stat
import sys
import time
from pathlib import Path

import pytest

from twin_core.orchestration.runner import StepProcessError, run_stage

FAKE = """#!{python}
import json, os, sys, time
args = sys.argv[1:]
open(os.environ["FAKE_ARGV"], "w").write(json.dumps(args))
mode = os.environ.get("FAKE_MODE", "ok")
print("step log line", flush=True)
if mode == "sleep":
    time.sleep(60)
if mode == "fail":
    print("boom: something broke", flush=True)
    sys.exit(3)
result = args[args.index("--result-file") + 1]
results = [{{"step": "init", "ok": True}}, {{"step": args[3], "ok": True, "counts": {{"n": 2}}}}]
open(result, "w").write(json.dumps(results))
"""


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "python"
    exe.write_text(FAKE.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TWIN_PYTHON", str(exe))
    monkeypatch.setenv("FAKE_ARGV", str(tmp_path / "argv.json"))
    return tmp_path / "argv.json"


def test_runs_twin_step_and_returns_the_last_result(fake_python: Path) -> None:
    out = run_stage("etl", ["a=1", " ", "b=two words"])
    argv = json.loads(fake_python.read_text())
    assert argv[:6] == ["-m", "twin_core.cli", "step", "etl", "a=1", "b=two words"]
    assert argv[6] == "--result-file"
    assert out == {"step": "etl", "ok": True, "counts": {"n": 2}}


def test_env_goes_over_the_workers(fake_python: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "ok")
    assert run_stage("status")["ok"] is True
    with pytest.raises(StepProcessError, match="code 3"):
        run_stage("status", env={"FAKE_MODE": "fail"})


def test_non_zero_exit_raises_with_code_and_log_tail(fake_python: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "fail")
    with pytest.raises(StepProcessError, match=r"step 'feature' exited with code 3:\nstep log line\nboom"):
        run_stage("feature")


def test_timeout_stops_the_step(fake_python: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "sleep")
    t0 = time.perf_counter()
    with pytest.raises(StepProcessError, match="exited with code -15"):
        run_stage("sft", timeout_s=1)
    assert time.perf_counter() - t0 < 15


def test_container_modes_are_not_run_here() -> None:
    with pytest.raises(ValueError, match="not 'kubernetes'"):
        run_stage("etl", mode="kubernetes")  # type: ignore[arg-type]

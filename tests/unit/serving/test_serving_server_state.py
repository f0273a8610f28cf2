"""The state file of a Triton left running, and stopping it by its record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from twin_core.serving import server_state
from twin_core.serving.serve import main, served_models
from twin_core.serving.server_state import pid_alive, read_record, running_server, stop_recorded, write_record


def test_record_round_trip_and_stale_record_is_dropped(tmp_path: Path) -> None:
    write_record(
        tmp_path,
        pid=2**22 + 7,
        http_url="http://127.0.0.1:1",
        grpc_url="grpc://127.0.0.1:2",
        started_by="test",
        log_file="/x.log",
    )
    record = read_record(tmp_path)
    assert record is not None and record.http_url == "http://127.0.0.1:1" and record.started_by == "test"
    assert running_server(tmp_path) is None  # no such process: the record is stale
    assert read_record(tmp_path) is None


def test_stop_recorded_ends_the_whole_process_group(tmp_path: Path) -> None:
    code = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    write_record(tmp_path, pid=proc.pid, http_url="http://127.0.0.1:1", grpc_url="", started_by="t", log_file="")
    assert pid_alive(proc.pid)
    assert stop_recorded(tmp_path, timeout_s=5) is True
    assert proc.wait(timeout=5) is not None and not pid_alive(proc.pid)
    assert read_record(tmp_path) is None and stop_recorded(tmp_path) is False


def test_served_models_skip_canaries_and_models_without_versions(tmp_path: Path) -> None:
    for name, version in (("twin_llm", "1"), ("twin_llm_canary", "2"), ("empty", None)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.pbtxt").write_text("")
        if version:
            (tmp_path / name / version).mkdir()
    assert served_models(tmp_path) == ["twin_llm"]


def test_twin_serve_without_a_deployed_model_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([f"paths.data_dir={tmp_path}"]) == 1
    assert "run `twin step deploy` first" in capsys.readouterr().err


def test_twin_serve_reports_a_server_already_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "triton_repo" / "twin_llm" / "1").mkdir(parents=True)
    (tmp_path / "triton_repo" / "twin_llm" / "config.pbtxt").write_text("")
    record = server_state.ServerRecord(42, "http://127.0.0.1:9", "grpc://127.0.0.1:10", "twin serve", "t", "")
    monkeypatch.setattr("twin_core.serving.serve.running_server", lambda repo: record)
    assert main([f"paths.data_dir={tmp_path}"]) == 0
    assert "already serves" in capsys.readouterr().out

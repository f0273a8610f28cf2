"""The ``twin`` CLI: --cfg job, validate, step listing and error exit codes."""

from __future__ import annotations

import pytest
import yaml

from twin_core.cli import main


def test_cfg_job_prints_composed_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cfg", "job", "chunking.chunk_size=777"]) == 0
    out = yaml.safe_load(capsys.readouterr().out)
    assert out["chunking"]["chunk_size"] == 777
    assert out["pipeline"]["_target_"] == "twin_core.pipeline.settings.PipelineSettings"


def test_cfg_job_masks_credentials(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://admin:hunter2@db:27017")
    assert main(["--cfg", "job", "--resolve", "warehouse=mongodb"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "mongodb://admin:***@db:27017" in out


def test_validate_ok_and_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert "config OK" in capsys.readouterr().out
    assert main(["validate", "chunking.chunk_size=-1"]) == 2
    err = capsys.readouterr().err
    assert "chunking.chunk_size: -1" in err and "greater than 0" in err


def test_bad_override_syntax_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no_such_group=x"]) == 2
    assert "no_such_group" in capsys.readouterr().err


def test_steps_lists_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steps"]) == 0
    assert "init" in capsys.readouterr().out

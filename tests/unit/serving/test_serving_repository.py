"""Model repository writing: parameters and instance counts in config.pbtxt, new weight versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_core.serving.repository import (
    TEMPLATE_REPOSITORY,
    add_version,
    copy_models,
    set_instance_count,
    set_parameters,
    versions,
)

CONFIG = """name: "m"
instance_group [ { kind: KIND_CPU, count: 1 } ]
parameters { key: "model_path", value: { string_value: "" } }
"""


def test_set_parameters_replaces_in_place_appends_and_escapes() -> None:
    text = set_parameters(CONFIG, {"model_path": '/w/"x"', "torch_threads": "2"})
    assert 'parameters { key: "model_path", value: { string_value: "/w/\\"x\\"" } }' in text
    assert text.count("model_path") == 1
    assert text.rstrip().endswith('parameters { key: "torch_threads", value: { string_value: "2" } }')
    assert "count: 3 }" in set_instance_count(CONFIG, 3)


@pytest.mark.parametrize("name", ["twin_llm", "twin_llm_stream"])
def test_templates_declare_the_ensemble_tensors(name: str) -> None:
    text = (TEMPLATE_REPOSITORY / name / "config.pbtxt").read_text()
    for tensor in ("text_input", "max_tokens", "temperature", "top_p", "stop_words", "text_output"):
        assert f'name: "{tensor}"' in text
    assert 'backend: "python"' in text and "KIND_CPU" in text and "dynamic_batching" in text
    assert ("decoupled: true" in text) == name.endswith("_stream")


def test_copy_models_then_add_versions(tmp_path: Path, tiny_llama: Path) -> None:
    repo = copy_models(tmp_path / "repo", params={"model_path": "/weights"}, instance_count=2)
    text = (repo / "twin_llm" / "config.pbtxt").read_text()
    assert 'string_value: "/weights"' in text and "count: 2 }" in text
    assert versions(repo, "twin_llm") == [1]
    assert add_version(repo, "twin_llm", tiny_llama) == 2
    v2 = repo / "twin_llm" / "2"
    assert (v2 / "model.py").read_text() == (repo / "twin_llm" / "1" / "model.py").read_text()
    assert (v2 / "model").resolve() == tiny_llama.resolve() and (v2 / "model" / "config.json").is_file()
    assert add_version(repo, "twin_llm", tiny_llama, link=False) == 3
    assert not (repo / "twin_llm" / "3" / "model").is_symlink()
    with pytest.raises(FileExistsError):
        add_version(repo, "twin_llm", tiny_llama, version=2)
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        add_version(repo, "twin_llm", tmp_path)
    with pytest.raises(FileNotFoundError, match="no model"):
        copy_models(tmp_path / "other", models=["nope"])

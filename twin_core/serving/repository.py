"""Write a Triton model repository: copy the CPU model folders, set their parameters, add weight versions."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_REPOSITORY = ROOT / "triton_models"
CPU_MODELS = ("twin_llm", "twin_llm_stream")

_PARAM = 'parameters {{ key: "{key}", value: {{ string_value: "{value}" }} }}'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def set_parameters(config_text: str, params: Mapping[str, str]) -> str:
    """``config.pbtxt`` text with each ``parameters`` entry set (replaced in place, or appended)."""
    for key, value in params.items():
        line = _PARAM.format(key=key, value=_escape(str(value)))
        pattern = re.compile(r'^parameters\s*\{\s*key:\s*"' + re.escape(key) + r'".*$', re.M)
        config_text, n = pattern.subn(lambda _m, line=line: line, config_text)
        if n == 0:
            config_text = config_text.rstrip("\n") + "\n" + line + "\n"
    return config_text


def set_instance_count(config_text: str, count: int) -> str:
    """``config.pbtxt`` text with the CPU ``instance_group`` count set."""
    return re.sub(r"(kind:\s*KIND_CPU,\s*count:\s*)\d+", rf"\g<1>{int(count)}", config_text)


def versions(repository: Path, model: str) -> list[int]:
    """Numeric version folders of ``model``, ascending."""
    folder = Path(repository) / model
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()) if folder.is_dir() else []


def copy_models(
    dst: Path,
    *,
    models: Iterable[str] = CPU_MODELS,
    params: Mapping[str, str] | None = None,
    instance_count: int | None = None,
    src: Path = TEMPLATE_REPOSITORY,
) -> Path:
    """Copy model folders from ``src`` (config and version 1 code) into ``dst``, with parameters applied."""
    dst = Path(dst)
    for name in models:
        if not (src / name / "config.pbtxt").is_file():
            raise FileNotFoundError(f"no model {name!r} in {src}")
        shutil.copytree(src / name, dst / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        config = dst / name / "config.pbtxt"
        text = set_parameters(config.read_text(), params or {})
        if instance_count is not None:
            text = set_instance_count(text, instance_count)
        config.write_text(text)
    return dst


def add_version(
    repository: Path,
    model: str,
    weights: Path,
    *,
    version: int | None = None,
    link: bool = True,
    code: Path | None = None,
) -> int:
    """Write ``weights`` as a new version (``<v>/model``, linked or copied) with ``code`` or the latest ``model.py``."""
    folder = Path(repository) / model
    existing = versions(repository, model)
    if not existing and code is None:
        raise FileNotFoundError(f"model {model!r} in {repository} has no version folder to take model.py from")
    version = version or (existing[-1] + 1 if existing else 1)
    if version in existing:
        raise FileExistsError(f"{model} version {version} already exists in {repository}")
    weights = Path(weights).resolve()
    if not (weights / "config.json").is_file():
        raise FileNotFoundError(f"no Hugging Face model (config.json) in {weights}")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{version}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    shutil.copy2(code or folder / str(existing[-1]) / "model.py", tmp / "model.py")
    if link:
        (tmp / "model").symlink_to(weights, target_is_directory=True)
    else:
        shutil.copytree(weights, tmp / "model")
    tmp.rename(folder / str(version))  # appears complete, never half-written
    return version

"""Turn composed config into typed settings, or report every bad value with its key path and origin."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ConfigDict, ValidationError

from twin_core.api.settings import ApiSettings
from twin_core.config.compose import compose_config
from twin_core.config.errors import ConfigError
from twin_core.config.settings import PathSettings
from twin_core.crawl.settings import CrawlSettings, SourcesSettings
from twin_core.datasets.settings import DatasetSettings
from twin_core.evaluation.settings import EvaluationSettings
from twin_core.features.settings import ChunkingSettings, CleaningSettings, EmbeddingSettings
from twin_core.guardrails.settings import GuardrailSettings
from twin_core.llm.settings import LLMSettings
from twin_core.monitoring.settings import MonitoringSettings
from twin_core.orchestration.settings import AirflowSettings
from twin_core.pipeline.settings import PipelineSettings
from twin_core.rag.settings import RagSettings
from twin_core.serving.settings import QuantizationSettings, ServingSettings
from twin_core.training.settings import ModelSettings, TrainerSettings
from twin_core.vectorstore.settings import VectorStoreSettings
from twin_core.warehouse.settings import WarehouseSettings


class TwinSettings(BaseModel):
    """Every group, built and typed; what steps receive as ``cfg``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    run_name: str = "twin"
    seed: int = 42
    paths: PathSettings
    warehouse: WarehouseSettings
    vector_store: VectorStoreSettings
    sources: SourcesSettings
    crawl: CrawlSettings
    cleaning: CleaningSettings
    chunking: ChunkingSettings
    embedding: EmbeddingSettings
    llm: LLMSettings
    dataset: DatasetSettings
    model: ModelSettings
    trainer: TrainerSettings
    evaluation: EvaluationSettings
    quantization: QuantizationSettings
    serving: ServingSettings
    rag: RagSettings
    guardrails: GuardrailSettings
    api: ApiSettings
    monitoring: MonitoringSettings
    pipeline: PipelineSettings
    airflow: AirflowSettings
    overrides: tuple[str, ...] = ()


GROUPS: dict[str, type[BaseModel]] = {
    name: field.annotation  # type: ignore[misc]
    for name, field in TwinSettings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}


def _import(target: str, where: str) -> Any:
    module, _, attr = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError([f"{where}._target_: {target!r} cannot be imported ({exc})"]) from exc


def _origin(path: str, cfg: DictConfig) -> str:
    hits = []
    group = path.split(".", 1)[0].split("[", 1)[0]
    choice = (cfg.get("_choices") or {}).get(group)
    dotted = re.sub(r"\[(\d+)\]", r".\1", path)
    for o in cfg.get("_overrides", []):
        key = re.sub(r"\[(\d+)\]", r".\1", o.lstrip("+~").split("=", 1)[0])
        if key == group and choice and path != group:
            continue  # a group choice: the value came from the chosen file, named below
        if key == dotted or dotted.startswith(key + ".") or key.startswith(dotted + "."):
            hits.append(f"command-line override {o!r}")
    if hits:
        return ", ".join(hits)
    return f"conf/{group}/{choice}.yaml" if choice else "conf/config.yaml"


def _loc(base: str, loc: Sequence[Any]) -> str:
    out = base
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def build_node(node: Any, path: str, *, call: bool = True) -> Any:
    """Instantiate ``_target_`` nodes depth-first; pydantic targets validate, others are bound to their signature.

    With ``call=False`` non-pydantic targets are only checked against their signature (nothing runs).
    """
    if isinstance(node, list):
        return [build_node(v, f"{path}[{i}]", call=call) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    if "_target_" not in node:
        return {k: build_node(v, f"{path}.{k}", call=call) for k, v in node.items()}
    target = _import(node["_target_"], path)
    kwargs = {k: build_node(v, f"{path}.{k}", call=call) for k, v in node.items() if k != "_target_"}
    if isinstance(target, type) and issubclass(target, BaseModel):
        try:
            return target.model_validate(kwargs)
        except ValidationError as exc:
            raise ConfigError(
                [
                    f"{_loc(path, e['loc'])}: {e.get('input')!r} is invalid: {e['msg']}"
                    if e["loc"]
                    else f"{path}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors()
                ]
            ) from exc
    try:
        inspect.signature(target).bind(**kwargs)
    except TypeError as exc:
        raise ConfigError([f"{path}: {node['_target_']} does not accept these arguments ({exc})"]) from exc
    return target(**kwargs) if call else node


def settings_from_cfg(cfg: DictConfig, *, call: bool = True) -> TwinSettings:
    """Build every group of a composed config; collects all problems before raising."""
    problems: list[str] = []
    built: dict[str, Any] = {}
    for key in cfg:
        if key.startswith("_"):
            continue
        try:
            node = OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
        except OmegaConfBaseException as exc:
            problems.append(f"{key}: cannot resolve ({exc.msg if hasattr(exc, 'msg') else exc})")
            continue
        expected = GROUPS.get(key)
        if expected is None:
            if key not in TwinSettings.model_fields:
                problems.append(f"{key}: unknown top-level key (from {_origin(key, cfg)})")
            else:
                built[key] = node
            continue
        if not (isinstance(node, dict) and "_target_" in node):
            problems.append(f"{key}: group must name its class with _target_ (from {_origin(key, cfg)})")
            continue
        try:
            obj = build_node(node, key, call=call)
        except ConfigError as exc:
            problems.extend(f"{p} (from {_origin(p.split(':', 1)[0], cfg)})" for p in exc.problems)
            continue
        if not isinstance(obj, expected):
            problems.append(f"{key}._target_: {node['_target_']!r} is not a {expected.__name__}")
            continue
        built[key] = obj
    if "sources" in built and "crawl" in built:
        from twin_core.crawl.dispatcher import check_sources  # cross-group: every link needs a crawler

        unmatched = check_sources(built["sources"], built["crawl"].crawlers)
        problems.extend(f"{p} (from {_origin(p.split(':', 1)[0], cfg)})" for p in unmatched)
    missing = [g for g in GROUPS if g not in built and not any(p.startswith(g) for p in problems)]
    problems.extend(f"{g}: group missing from the defaults list" for g in missing)
    if problems:
        raise ConfigError(problems)
    return TwinSettings(**built, overrides=tuple(cfg.get("_overrides", [])))


def load_settings(overrides: Sequence[str] = ()) -> TwinSettings:
    """Compose and build: what the CLI, the operators and the tests call."""
    return settings_from_cfg(compose_config(overrides))


def validate_config(overrides: Sequence[str] = ()) -> TwinSettings:
    """Check every target, path, URL, range and enum without running anything."""
    return settings_from_cfg(compose_config(overrides), call=False)

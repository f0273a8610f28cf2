"""Which models are evaluated: the base model, recent SFT/DPO versions, production, and the candidate for the gate."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twin_core.training.base_model import BaseModelMissing, resolve_base
from twin_core.training.registry import ModelRegistry, ModelVersion
from twin_core.training.steps import open_registry, registry_name

if TYPE_CHECKING:
    from twin_core.config.loader import TwinSettings

log = logging.getLogger("twin.evaluation")
KINDS = ("sft", "dpo")


@dataclass(frozen=True)
class EvalModel:
    """A model to evaluate: a loadable folder, what identifies its weights, and its registry coordinates."""

    label: str
    kind: str
    path: str
    identity: str
    name: str | None = None
    version: str | None = None
    stages: tuple[str, ...] = ()

    @classmethod
    def of(cls, v: ModelVersion, kind: str) -> EvalModel:
        identity = f"{v.name}/{v.version}:{v.manifest.get('fingerprint') or v.manifest.get('created_at')}"
        return cls(f"{v.name}/{v.version}", kind, str(v.path), identity, v.name, v.version, v.stages)


@dataclass
class Selection:
    """Leaderboard rows (base first), the candidate the gate judges, the current production, and notes."""

    models: list[EvalModel]
    candidate: EvalModel | None
    production: EvalModel | None
    notes: list[str] = field(default_factory=list)


def _last_promotion(registry: ModelRegistry, name: str) -> str:
    path = registry.root / name / "stages.json"
    if not path.is_file():
        return ""
    history = json.loads(path.read_text()).get("history", [])
    return max((h.get("at", "") for h in history if h.get("stage") == "production"), default="")


def current_production(registry: ModelRegistry, names: list[str]) -> ModelVersion | None:
    """The twin's production model: of the names' production tags, the one promoted last (later names win ties)."""
    tagged = [
        (v, _last_promotion(registry, n), i) for i, n in enumerate(names) if (v := registry.get(n, stage="production"))
    ]
    return max(tagged, key=lambda t: (t[1], t[2]))[0] if tagged else None


def twin_production(cfg: TwinSettings) -> ModelVersion | None:
    """The production model of ``cfg.model.name`` (SFT or DPO registry name): what serving should deploy."""
    return current_production(open_registry(cfg), [registry_name(cfg, k) for k in KINDS])


def _candidate(cfg: TwinSettings, registry: ModelRegistry, production: ModelVersion | None) -> ModelVersion | None:
    wanted = cfg.evaluation.models.candidate
    if wanted != "auto":
        name, _, version = wanted.partition("/")
        found = registry.get(name, version or None)
        if found is None:
            raise KeyError(f"evaluation.models.candidate: {wanted!r} is not in the registry at {registry.root}")
        return found
    tagged = [(v, i) for i, k in enumerate(KINDS) if (v := registry.get(registry_name(cfg, k), stage="candidate"))]
    if not tagged:
        return None
    newest = max(tagged, key=lambda t: (str(t[0].manifest.get("created_at", "")), t[1]))[0]
    if production is not None and (newest.name, newest.version) == (production.name, production.version):
        return None
    return newest


def select(cfg: TwinSettings) -> Selection:
    """The models to evaluate: base, the newest ``max_versions`` per name, production and the candidate."""
    registry, opts = open_registry(cfg), cfg.evaluation.models
    names = {k: registry_name(cfg, k) for k in KINDS}
    production = current_production(registry, list(names.values()))
    candidate = _candidate(cfg, registry, production)
    models: list[EvalModel] = []
    notes: list[str] = []
    if opts.include_base:
        try:
            base = resolve_base(cfg.model)
            models.append(EvalModel("base", "base", base.path, base.identity))
        except BaseModelMissing as exc:
            notes.append(f"base model not evaluated: {exc}")
    for kind, name in names.items():
        versions = registry.list_versions(name)
        keep = versions[-opts.max_versions :]
        extra = [v for v in versions if v not in keep and v in (production, candidate)]
        models.extend(EvalModel.of(v, kind) for v in sorted([*extra, *keep], key=lambda v: v.number))
    by_label = {m.label: m for m in models}
    if candidate is not None and candidate.name not in names.values():
        by_label.setdefault(f"{candidate.name}/{candidate.version}", EvalModel.of(candidate, "other"))
        models = list(by_label.values())
    pick = lambda v: by_label.get(f"{v.name}/{v.version}") if v else None  # noqa: E731
    return Selection(models, pick(candidate), pick(production), notes)

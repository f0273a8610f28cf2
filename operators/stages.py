"""One thin operator per pipeline stage: each only fixes its stage name, colour and task defaults."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

from operators.stage import TwinStageOperator


class InitOperator(TwinStageOperator):
    """Prepare the stores: directories, indexes, authors, the vector collection (idempotent)."""

    stage_name, ui_color = "init", "#f1f3f4"
    defaults = MappingProxyType({"execution_timeout": timedelta(minutes=10)})


class StatusOperator(TwinStageOperator):
    """Count what every store holds; changes nothing."""

    stage_name, ui_color = "status", "#f1f3f4"
    defaults = MappingProxyType({"execution_timeout": timedelta(minutes=10)})


class EtlOperator(TwinStageOperator):
    """Crawl every source into the warehouse; with ``window`` keys only the run's data interval."""

    stage_name, ui_color = "etl", "#e6f4ea"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=2)})


class FeatureOperator(TwinStageOperator):
    """Clean, chunk and embed what changed into the vector store."""

    stage_name, ui_color = "feature", "#e8f0fe"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=2)})


class BaseModelOperator(TwinStageOperator):
    """Build (demo) or check the base model the training stages start from."""

    stage_name, ui_color = "base_model", "#fef7e0"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=2)})


class DatasetOperator(TwinStageOperator):
    """Build the instruction and preference datasets (versioned, deduplicated)."""

    stage_name, ui_color = "dataset", "#fce8e6"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=3)})


class SftOperator(TwinStageOperator):
    """Supervised fine-tuning (Axolotl); skipped when these inputs are already registered."""

    stage_name, ui_color = "sft", "#fde7c7"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=12), "retries": 1})


class DpoOperator(TwinStageOperator):
    """Preference tuning (DPO) of the latest SFT model."""

    stage_name, ui_color = "dpo", "#fde7c7"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=12), "retries": 1})


class EvalOperator(TwinStageOperator):
    """Evaluate the candidate and apply the promotion gate."""

    stage_name, ui_color = "eval", "#e4f7fb"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=3)})


class EngineOperator(TwinStageOperator):
    """Quantize and build the serving engine (TensorRT-LLM on GPUs)."""

    stage_name, ui_color = "engine", "#ede7f6"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=6)})


class DeployOperator(TwinStageOperator):
    """Publish the promoted model to Triton's model repository and reload it."""

    stage_name, ui_color = "deploy", "#ede7f6"
    defaults = MappingProxyType({"execution_timeout": timedelta(hours=1), "retries": 1})


class AskOperator(TwinStageOperator):
    """Ask the deployed twin one question through the RAG API (retrieval, Triton and the API together)."""

    stage_name, ui_color = "ask", "#fce8e6"
    defaults = MappingProxyType({"execution_timeout": timedelta(minutes=15), "retries": 1})


class MonitorOperator(TwinStageOperator):
    """Summarise the API's prompt logs and alert when latency p95 or the error rate crosses its threshold."""

    stage_name, ui_color = "monitor", "#fef7e0"
    defaults = MappingProxyType({"execution_timeout": timedelta(minutes=10), "retries": 0})


OPERATORS: dict[str, type[TwinStageOperator]] = {
    cls.stage_name: cls  # type: ignore[misc]
    for cls in (
        InitOperator,
        StatusOperator,
        EtlOperator,
        FeatureOperator,
        BaseModelOperator,
        DatasetOperator,
        SftOperator,
        DpoOperator,
        EvalOperator,
        EngineOperator,
        DeployOperator,
        AskOperator,
        MonitorOperator,
    )
}


def operator_for(stage: str) -> type[TwinStageOperator]:
    """The stage's own operator, or the generic one for a stage registered later."""
    return OPERATORS.get(stage, TwinStageOperator)

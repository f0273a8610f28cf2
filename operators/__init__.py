"""Custom Airflow operators: thin, each stores its arguments and makes one call into ``twin_core``."""

from operators.stage import TwinStageOperator
from operators.stages import (
    OPERATORS,
    BaseModelOperator,
    DatasetOperator,
    DeployOperator,
    DpoOperator,
    EngineOperator,
    EtlOperator,
    EvalOperator,
    FeatureOperator,
    InitOperator,
    SftOperator,
    StatusOperator,
    operator_for,
)

__all__ = [
    "OPERATORS",
    "BaseModelOperator",
    "DatasetOperator",
    "DeployOperator",
    "DpoOperator",
    "EngineOperator",
    "EtlOperator",
    "EvalOperator",
    "FeatureOperator",
    "InitOperator",
    "SftOperator",
    "StatusOperator",
    "TwinStageOperator",
    "operator_for",
]

"""Custom Airflow operators: thin, each stores its arguments and makes one call into ``twin_core``."""

from operators.stage import TwinStageOperator

__all__ = ["TwinStageOperator"]

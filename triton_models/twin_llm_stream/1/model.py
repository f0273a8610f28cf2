"""Triton Python-backend entry point for the CPU twin model; the implementation lives in ``twin_core``."""

from twin_core.serving.python_backend import TritonPythonModel

__all__ = ["TritonPythonModel"]

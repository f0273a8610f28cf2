"""Triton Python-backend entry point of the TensorRT-LLM ensemble's detokenizer; the code lives in ``twin_core``."""

from twin_core.serving.trtllm_text import Postprocessing as TritonPythonModel

__all__ = ["TritonPythonModel"]

"""LLM Twin: build, retrain and serve a model that writes like one person."""

__version__ = "0.1.0"

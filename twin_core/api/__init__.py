"""The RAG inference API (FastAPI) and its web UI."""

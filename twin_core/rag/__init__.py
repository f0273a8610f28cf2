"""Retrieval-augmented generation: self-query, query expansion, filtered hybrid search, reranking, prompts."""

"""Evaluation: lm-eval suites, LLM-as-judge, ragas RAG metrics, style fidelity, leaderboard and promotion gate."""

"""Airflow plugins and hooks for the twin's stores and servers (warehouse, vector DB, Triton)."""

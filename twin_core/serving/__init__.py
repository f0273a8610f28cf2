"""Serving: the wheel's tritonserver on CPU, the Python-backend twin model, and the Triton client."""

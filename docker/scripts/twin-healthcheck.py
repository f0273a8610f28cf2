#!/usr/bin/env python3
"""Compose health check of an HTTP service: GET the URL (default the API's /health), healthy on a 2xx answer."""

import sys
import urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080/health"
try:
    with urllib.request.urlopen(url, timeout=5) as response:
        sys.exit(0 if 200 <= response.status < 300 else 1)
except Exception as exc:
    print(f"unhealthy: {url}: {exc}", file=sys.stderr)
    sys.exit(1)

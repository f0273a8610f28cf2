"""Axolotl's CLI as a plain script for the Axolotl venv: ``python axolotl_main.py train cfg.yaml``.

``datasets`` saves through a *spawn* pool, whose workers re-import ``__main__``; with this light script as
``__main__`` (and not ``axolotl.cli.main``) each save costs well under a second instead of several.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # our sibling modules must not shadow packages of the Axolotl environment
    from axolotl.cli.main import main

    sys.argv[0] = "axolotl"
    sys.exit(main())

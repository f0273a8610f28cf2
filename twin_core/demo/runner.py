"""``twin demo``: serve the demo corpus on 127.0.0.1, then run the demo pipeline against it.

The site listens on a fixed port (``$TWIN_DEMO_PORT``, default 8765) so that document links, and with
them document ids, are the same on every demo run: a second run shows every page unchanged.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from twin_core.demo.fixture_site import FixtureSite, build_git_repo, default_corpus_dir

DEFAULT_PORT = 8765


@contextmanager
def demo_environment(data_dir: Path, port: int | None = None) -> Iterator[FixtureSite]:
    """Start the fixture site and build the demo git repo; export their locations for the config."""
    port = int(port or os.environ.get("TWIN_DEMO_PORT", DEFAULT_PORT))
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} on 127.0.0.1 is busy; set TWIN_DEMO_PORT to a free port")
    repo = data_dir / "demo-repo"
    if not (repo / ".git").is_dir():
        build_git_repo(default_corpus_dir(), repo)
    saved = {k: os.environ.get(k) for k in ("TWIN_DEMO_SITE", "TWIN_DEMO_REPO")}
    with FixtureSite(port=port) as site:
        os.environ["TWIN_DEMO_SITE"], os.environ["TWIN_DEMO_REPO"] = site.url, str(repo)
        try:
            yield site
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def demo_data_dir(overrides: Sequence[str]) -> Path:
    """Where the demo writes: the composed ``paths.data_dir`` of ``experiment=demo``."""
    from twin_core.config.loader import load_settings

    return load_settings(["experiment=demo", *overrides]).paths.data_dir

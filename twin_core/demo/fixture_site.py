"""A local web site that serves the demo author's corpus as Medium, Substack, a blog and a
LinkedIn export, plus fault pages, so crawlers can be tested offline and deterministically.

Run it by hand with ``python -m twin_core.demo.fixture_site [--port N] [--delay S]``.
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import sys
import threading
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from twin_core.demo import fixture_faults as faults
from twin_core.demo.fixture_corpus import build_git_repo, build_linkedin_export, default_corpus_dir, load_author
from twin_core.demo.fixture_routes import Response, html_response, route

__all__ = ["FixtureSite", "build_git_repo", "build_linkedin_export", "default_corpus_dir", "main"]

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class FixtureSite:
    """The fixture web site, served from a background thread; use as a context manager.

    ``hits`` counts requests per URL path (query string dropped), for tests that check politeness or caching.
    """

    def __init__(
        self,
        corpus_dir: Path | None = None,
        *,
        delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        quiet: bool = True,
    ) -> None:
        self.corpus_dir = Path(corpus_dir) if corpus_dir is not None else default_corpus_dir()
        if not (self.corpus_dir / "author.yaml").is_file():
            raise FileNotFoundError(f"not a corpus folder (no author.yaml): {self.corpus_dir}")
        if host not in LOOPBACK:
            raise ValueError(f"the fixture site only binds to loopback addresses, not {host!r}")
        self.delay, self.host, self.port, self.quiet = float(delay), host, int(port), quiet
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._flaky_seen: set[str] = set()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``; only valid while running."""
        if self._server is None:
            raise RuntimeError("FixtureSite is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_address[1]}"

    def start(self) -> FixtureSite:
        """Bind the port and serve from a daemon thread; returns self."""
        if self._server is not None:
            return self
        handler = type("BoundHandler", (_Handler,), {"site": self})
        server_cls = _V6Server if ":" in self.host else _Server
        self._stopping.clear()
        self._server = server_cls((self.host, self.port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fixture-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket; safe to call twice."""
        if self._server is None:
            return
        self._stopping.set()  # cuts short /faults/slow and delays
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FixtureSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_faults(self) -> None:
        """Make every /faults/flaky* path fail once more."""
        with self._lock:
            self._flaky_seen.clear()

    def _count(self, path: str) -> None:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    site: FixtureSite
    protocol_version = "HTTP/1.1"
    server_version = "FixtureSite/1.0"
    timeout = 30

    def do_GET(self) -> None:
        self._handle(head_only=False)

    def do_HEAD(self) -> None:
        self._handle(head_only=True)

    def log_message(self, format: str, *args: object) -> None:
        if not self.site.quiet:
            super().log_message(format, *args)

    def _handle(self, head_only: bool) -> None:
        path = urlsplit(self.path).path or "/"
        site = self.site
        site._count(path)
        if site.delay > 0:
            site._stopping.wait(site.delay)
        base = "http://" + (self.headers.get("Host") or urlsplit(site.url).netloc)
        try:
            resp = route(site, path, base)
        except Exception as exc:  # a broken corpus file should show up as a 500, not a dead thread
            self.log_error("error serving %s: %r", path, exc)
            resp = html_response(faults.server_error(), status=500)
        try:
            self._send(resp, head_only)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _not_modified(self, etag: str, mtime: float | None) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims and mtime is not None:
            try:
                return int(mtime) <= parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, resp: Response, head_only: bool) -> None:
        etag = resp.etag or '"' + hashlib.sha256(resp.body).hexdigest()[:32] + '"'
        validators = {"ETag": etag}
        if resp.mtime is not None:
            validators["Last-Modified"] = formatdate(resp.mtime, usegmt=True)
        if resp.status == 200 and self._not_modified(etag, resp.mtime):
            self.send_response(304)
            for key, value in validators.items():
                self.send_header(key, value)
            self.end_headers()
            return
        length = resp.length if resp.stream is not None else len(resp.body)
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(length))
        for key, value in {**(validators if resp.status == 200 else {}), **resp.headers}.items():
            self.send_header(key, value)
        self.end_headers()
        if head_only:
            return
        if resp.stream is not None:
            for chunk in resp.stream():
                self.wfile.write(chunk)
        else:
            self.wfile.write(resp.body)


def main(argv: list[str] | None = None) -> int:
    """Serve the fixture site until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m twin_core.demo.fixture_site", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to sleep before every response")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: the bundled one)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    site = FixtureSite(args.corpus, delay=args.delay, port=args.port, quiet=not args.verbose)
    try:
        site.start()
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}; try --port 0", file=sys.stderr)
        return 1
    handle = load_author(site.corpus_dir)["handle"]
    print(f"Fixture site serving {site.corpus_dir} at {site.url}  (Ctrl-C to stop)")
    for link in (f"/medium/@{handle}", f"/medium/feed/@{handle}", "/substack/feed", "/blog/", "/linkedin/export.zip"):
        print(f"  {site.url}{link}")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping")
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

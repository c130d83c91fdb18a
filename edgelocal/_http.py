"""Bits shared by the two local servers."""

from __future__ import annotations

import argparse
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = frozenset(
    [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ]
)
DEFAULT_SECRET = "local-origin-secret"
SECRET_HEADER = "x-origin-secret"


class AnyMethodHandler(BaseHTTPRequestHandler):
    """Every HTTP method goes to `respond(body)`, with the request body already read."""

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.respond(self.rfile.read(length) if length else b"")

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def respond(self, body: bytes) -> None:
        raise NotImplementedError


def default_secret() -> str:
    return os.environ.get("EDGE_ORIGIN_SECRET", DEFAULT_SECRET)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def announce(name: str, server: Server) -> None:
    """One line on stdout with the bound address (``--port 0`` picks a free one)."""
    host, port = server.server_address[:2]
    print(f"{name} listening on http://{host}:{port}", flush=True)
    sys.stdout.flush()


def parser(prog: str, description: str, *, port: int) -> argparse.ArgumentParser:
    """A command line with the loopback --host and the --port every local server takes."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser


def serve(server: Server) -> None:
    """Serve until Ctrl-C or SIGTERM's KeyboardInterrupt, then close the socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def require_loopback(host: str) -> None:
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit(f"refusing to listen on {host}: the local stack binds loopback only")

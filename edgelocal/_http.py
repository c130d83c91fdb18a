"""Bits shared by the two local servers."""

from __future__ import annotations

import os
import sys
from http.server import ThreadingHTTPServer

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


def require_loopback(host: str) -> None:
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit(f"refusing to listen on {host}: the local stack binds loopback only")

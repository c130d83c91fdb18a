"""Demo origin standing in for the Amplify front end.

    python -m edgelocal.origin --port 8081 --secret SECRET

It answers with the workspace the edge resolved (``x-workspace-id``) and the
host the viewer asked for (``x-forwarded-host``), as HTML, or as JSON when the
client asks for ``application/json``. Requests without the origin secret header
(which CloudFront adds as an origin custom header) get a 403, so the only way
in is through the edge.
"""

from __future__ import annotations

import hmac
import html
import json
from http.server import BaseHTTPRequestHandler

from . import _http
from ._http import SECRET_HEADER, AnyMethodHandler, Server, announce, default_secret, require_loopback


def make_handler(secret: str, secret_header: str = SECRET_HEADER) -> type[BaseHTTPRequestHandler]:
    expected = secret.encode()

    class OriginHandler(AnyMethodHandler):
        server_version = "ve-demo-origin/1"

        def respond(self, body: bytes) -> None:
            given = (self.headers.get(secret_header) or "").encode()
            if not hmac.compare_digest(given, expected):
                self._send(
                    403,
                    "text/plain; charset=utf-8",
                    b"forbidden: requests must come through the edge\n",
                )
                return
            workspaces = self.headers.get_all("x-workspace-id") or []
            info = {
                "workspace_id": workspaces[0] if len(workspaces) == 1 else None,
                "workspace_id_headers": workspaces,
                "forwarded_host": self.headers.get("x-forwarded-host"),
                "host": self.headers.get("host"),
                "method": self.command,
                "path": self.path,
            }
            if "application/json" in (self.headers.get("accept") or ""):
                self._send(200, "application/json", json.dumps(info).encode())
                return
            if info["workspace_id"]:
                title = f"Workspace {info['workspace_id']}"
                line = f"Gallery of workspace <strong>{html.escape(info['workspace_id'])}</strong>"
            else:
                title = "VE.AI"
                line = "No workspace (a platform host, passed through by the edge)"
            body = (
                f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
                f"<h1>{line}</h1>"
                f"<p>workspace: {html.escape(str(info['workspace_id']))}<br>"
                f"viewer host: {html.escape(str(info['forwarded_host']))}<br>"
                f"path: {html.escape(self.path)}</p>\n"
            )
            self._send(200, "text/html; charset=utf-8", body.encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return OriginHandler


def main(argv: list[str] | None = None) -> None:
    parser = _http.parser("python -m edgelocal.origin", "Demo origin (Amplify stand-in).", port=8081)
    parser.add_argument(
        "--secret",
        default=default_secret(),
        help="origin secret (default $EDGE_ORIGIN_SECRET or a local one)",
    )
    parser.add_argument("--secret-header", default=SECRET_HEADER)
    args = parser.parse_args(argv)
    require_loopback(args.host)
    server = Server((args.host, args.port), make_handler(args.secret, args.secret_header.lower()))
    announce("demo origin", server)
    _http.serve(server)


if __name__ == "__main__":
    main()

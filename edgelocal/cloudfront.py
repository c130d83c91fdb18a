"""Local stand-in for CloudFront in front of the demo origin.

    python -m edgelocal.cloudfront --port 8080 --origin http://127.0.0.1:8081 \
        --origin-secret SECRET [--edge-config FILE] [--dynamodb-endpoint URL] [--table NAME]

Every request becomes an origin-request event of the documented Lambda@Edge
shape and goes through the real ``edge_function.handler.lambda_handler``
(nothing is cached here, so the handler runs on every request). A generated
response (404, 503) is returned as is; otherwise the request, as the handler
modified it, is sent to the origin with the origin secret as an origin custom
header, and the origin's answer is returned.

The handler reads its settings from ``$EDGE_CONFIG``: this module writes the
edge config (``--edge-config``, default ``edgelocal/edge_config.json``, plus
the command-line overrides) to a temporary file and points ``EDGE_CONFIG`` at
it before importing the handler.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import sys
import tempfile
import threading
import urllib.parse

from . import _http
from ._http import (
    HOP_BY_HOP,
    SECRET_HEADER,
    AnyMethodHandler,
    Server,
    announce,
    default_secret,
    require_loopback,
)
from .events import custom_origin, request_event

DEFAULT_EDGE_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "edge_config.json")


def make_handler(lambda_handler, origin_url: str, secret: str, secret_header: str = SECRET_HEADER):
    target = urllib.parse.urlsplit(origin_url)

    def origin() -> dict:
        # A fresh one per event: a handler may rewrite the origin of its request.
        return custom_origin(
            target.hostname,
            protocol=target.scheme,
            port=target.port,
            path=target.path,
            custom_headers=[(secret_header, secret)],
        )

    origin()  # an origin URL that is not http(s) fails here, at start, rather than on each request
    # Lambda runs one event at a time per container; so does this stand-in.
    invoke_lock = threading.Lock()

    class CloudFrontHandler(AnyMethodHandler):
        server_version = "CloudFront-edgelocal"

        def respond(self, body: bytes) -> None:
            uri, _, querystring = self.path.partition("?")
            event = request_event(
                [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP],
                origin=origin(),
                method=self.command,
                uri=uri,
                querystring=querystring,
                client_ip=self.client_address[0],
                distribution_id="EDGELOCAL",
            )
            try:
                with invoke_lock:
                    result = lambda_handler(event, None)
            except Exception as exc:  # noqa: BLE001 - CloudFront answers 503 when the function fails
                self.log_error("edge function failed: %r", exc)
                self._reply(503, [("Content-Type", "text/plain")], b"edge function error\n")
                return
            if "status" in result:
                self._generated(result)
            else:
                self._forward(result, body)

        def _generated(self, result: dict) -> None:
            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("bodyEncoding") == "base64" else payload.encode()
            headers = [(h["key"], h["value"]) for values in (result.get("headers") or {}).values() for h in values]
            self._reply(
                int(result["status"]),
                headers,
                data,
                cache="Error" if int(result["status"]) >= 400 else "Miss",
            )

        def _forward(self, request: dict, body: bytes) -> None:
            target = request["origin"]["custom"]
            path = target.get("path", "") + request["uri"]
            if request.get("querystring"):
                path += "?" + request["querystring"]
            headers = [
                (h["key"], h["value"])
                for name, values in request["headers"].items()
                if name not in HOP_BY_HOP and name != "content-length"
                for h in values
            ]
            headers += [(h["key"], h["value"]) for values in target.get("customHeaders", {}).values() for h in values]
            connection_class = (
                http.client.HTTPSConnection if target["protocol"] == "https" else http.client.HTTPConnection
            )
            conn = connection_class(
                target["domainName"],
                target["port"],
                timeout=target.get("readTimeout", 30),
            )
            try:
                conn.putrequest(request["method"], path, skip_host=True, skip_accept_encoding=True)
                for key, value in headers:
                    conn.putheader(key, value)
                if body:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                response = conn.getresponse()
                data = response.read()
            except OSError as exc:
                self.log_error("origin unreachable: %r", exc)
                self._reply(
                    502,
                    [("Content-Type", "text/plain")],
                    b"502 Bad Gateway: origin unreachable\n",
                    cache="Error",
                )
                return
            finally:
                conn.close()
            passed = [
                (k, v)
                for k, v in response.getheaders()
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
            ]
            self._reply(response.status, passed, data)

        def _reply(
            self,
            status: int,
            headers: list[tuple[str, str]],
            data: bytes,
            cache: str = "Miss",
        ) -> None:
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in ("content-length", "server", "date"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Via", "1.1 edgelocal (CloudFront)")
            self.send_header("X-Cache", f"{cache} from cloudfront")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return CloudFrontHandler


def prepare_edge_config(path: str, overrides: dict) -> str:
    """Write the effective edge config to a temp file and return its path."""
    with open(path, encoding="utf-8") as fh:
        config = json.load(fh)
    config.update({k: v for k, v in overrides.items() if v is not None})
    fd, out = tempfile.mkstemp(prefix="edge-config-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(config, fh)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = _http.parser("python -m edgelocal.cloudfront", "Local CloudFront stand-in.", port=8080)
    parser.add_argument(
        "--origin",
        default="http://127.0.0.1:8081",
        help="origin base URL (the demo origin)",
    )
    parser.add_argument(
        "--origin-secret",
        default=default_secret(),
        help="sent as an origin custom header",
    )
    parser.add_argument("--origin-secret-header", default=SECRET_HEADER)
    parser.add_argument(
        "--edge-config",
        default=os.environ.get("EDGE_CONFIG") or DEFAULT_EDGE_CONFIG,
        help="edge function JSON config (default $EDGE_CONFIG or edgelocal/edge_config.json)",
    )
    parser.add_argument(
        "--dynamodb-endpoint",
        default=os.environ.get("EDGE_DYNAMODB_ENDPOINT"),
        help="overrides endpoint_url",
    )
    parser.add_argument("--table", default=None, help="overrides table_name")
    args = parser.parse_args(argv)
    require_loopback(args.host)

    config_path = prepare_edge_config(
        args.edge_config,
        {"endpoint_url": args.dynamodb_endpoint, "table_name": args.table},
    )
    os.environ["EDGE_CONFIG"] = config_path
    os.environ.setdefault("AWS_REGION", "us-east-1")
    with open(config_path, encoding="utf-8") as fh:
        local_endpoint = json.load(fh).get("endpoint_url") or None
    if local_endpoint:
        # A local endpoint accepts any credentials; never pick up real ones for it.
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "testing")

    from edge_function.handler import lambda_handler  # after EDGE_CONFIG is set

    server = Server(
        (args.host, args.port),
        make_handler(
            lambda_handler,
            args.origin,
            args.origin_secret,
            args.origin_secret_header.lower(),
        ),
    )
    announce("cloudfront stand-in", server)
    print(
        f"  edge config {config_path} (from {args.edge_config}); origin {args.origin}",
        flush=True,
    )
    try:
        _http.serve(server)
    finally:
        os.unlink(config_path)


if __name__ == "__main__":
    sys.exit(main())

"""`make run`'s demo integration: receives webhooks, verifies their Standard Webhooks signature, shows them.

    python -m devstack.webhook_receiver --port 8026

It knows the secrets the way a real integration would be told them: here it
reads the portal's endpoints whose URL points at it (the local stack shares the
database). GET / lists what arrived, newest first, and whether it verified;
GET /received.json is the same list for scripts and the end-to-end test. A delivery
whose signature does not verify is answered 401 and still listed, marked unverified.
"""

from __future__ import annotations

import argparse
import html
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer

from devstack.pages import QuietHandler
from notifications.signing import verify


def handler(secrets: Callable[[], list[str]], received: list[dict], lock: threading.Lock):
    class Handler(QuietHandler):
        def do_POST(self):
            body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1_000_000))
            headers = dict(self.headers)
            try:
                known = secrets()
            except Exception:  # noqa: BLE001 - a portal database not migrated yet knows no secrets
                known = []
            ok = any(verify(secret=s, headers=headers, body=body, now=int(time.time())) for s in known)
            payload = parsed(body)
            data = payload.get("data") if isinstance(payload, dict) else None
            row = {
                "id": self.headers.get("webhook-id"),
                "type": str(payload.get("type", "?")) if isinstance(payload, dict) else "?",
                "hostname": data.get("hostname") if isinstance(data, dict) else None,
                "verified": ok,
                "received_at": datetime.now(UTC).isoformat(),
                "body": body,
            }
            with lock:
                received.insert(0, row)
                del received[200:]
            self.send_body(200 if ok else 401, b"ok" if ok else b"bad signature", "text/plain")

        def do_GET(self):
            if self.path.partition("?")[0] == "/received.json":
                with lock:
                    listed = [
                        {**{k: v for k, v in r.items() if k != "body"}, "payload": parsed(r["body"])} for r in received
                    ]
                return self.send_body(200, json.dumps(listed).encode(), "application/json")
            with lock:
                rows = "".join(
                    f"<li>{'✓ verified' if r['verified'] else '✗ NOT verified'} <b>{html.escape(r['type'])}</b> "
                    f"<code>{html.escape(str(r['id']))}</code><pre>{html.escape(r['body'].decode('utf-8', 'replace'))}</pre></li>"
                    for r in received
                )
            page = f"<!doctype html><meta charset='utf-8'><title>Webhooks received</title><h1>Webhooks received</h1><ul>{rows or '<li>Nothing yet.</li>'}</ul>"
            self.send_body(200, page.encode(), "text/html; charset=utf-8")

    return Handler


def parsed(body: bytes):
    """The delivery's JSON body, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def serve(*, port: int, secrets: Callable[[], list[str]]) -> tuple[ThreadingHTTPServer, list[dict]]:
    received: list[dict] = []
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(secrets, received, threading.Lock()))
    return server, received


def portal_secrets(port: int) -> Callable[[], list[str]]:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from notifications.models import WebhookEndpoint

    def secrets() -> list[str]:
        return list(WebhookEndpoint.objects.filter(url__contains=f"127.0.0.1:{port}").values_list("secret", flat=True))

    return secrets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8026)
    args = parser.parse_args()
    server, _ = serve(port=args.port, secrets=portal_secrets(args.port))
    print(
        f"webhook receiver: POST http://127.0.0.1:{args.port}/hooks, see http://127.0.0.1:{args.port}/ "
        f"(JSON: /received.json)",
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()

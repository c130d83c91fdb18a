"""`make run`'s mail server: SMTP on loopback keeping every message under var/mail/, and a small page to read them.

python -m devstack.mailbox --smtp-port 1025 --port 8025 --dir var/mail

GET / lists the mail, newest first; /<name> shows one message, /raw/<name> its .eml as sent;
GET /messages.json is the listing for scripts and the end-to-end test.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import html
import json
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from devstack.pages import QuietHandler


class Keeper:
    """aiosmtpd handler: each message as one .eml file, named so they sort by arrival."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}.eml"
        # Written aside and renamed, so a reader never sees half a message.
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(envelope.content)
        partial.rename(self.directory / name)
        return "250 Message accepted for delivery"


def read(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def page_handler(directory: Path):
    class Handler(QuietHandler):
        def do_GET(self):
            files = sorted(directory.glob("*.eml"), reverse=True)
            path = self.path.partition("?")[0]
            if path == "/messages.json":
                listing = [listed(f, read(f)) for f in files]
                return self.send_body(200, json.dumps(listing).encode(), "application/json")
            if path.startswith("/raw/"):
                match = [f for f in files if f.name == path.removeprefix("/raw/")]
                if not match:
                    return self._send(404, "<p>No such message.</p>")
                return self.send_body(200, match[0].read_bytes(), "message/rfc822")
            name = path.strip("/")
            if name:
                match = [f for f in files if f.name == name]
                if not match:
                    return self._send(404, "<p>No such message.</p>")
                message = read(match[0])
                body = message.get_body(("plain",))
                text = body.get_content() if body is not None else ""
                return self._send(
                    200,
                    f"<p><a href='/'>← all mail</a></p><h1>{html.escape(str(message['Subject']))}</h1>"
                    f"<p>To: {html.escape(str(message['To']))}<br>Date: {html.escape(str(message['Date']))}</p>"
                    f"<pre>{html.escape(text)}</pre>",
                )
            rows = "".join(
                f"<li><a href='/{f.name}'>{html.escape(str(m['Subject']))}</a> → {html.escape(str(m['To']))}</li>"
                for f in files
                for m in [read(f)]
            )
            return self._send(200, f"<h1>Local mailbox</h1><ul>{rows or '<li>No mail yet.</li>'}</ul>")

        def _send(self, status: int, body: str):
            page = f"<!doctype html><meta charset='utf-8'><title>Mailbox</title>{body}".encode()
            self.send_body(status, page, "text/html; charset=utf-8")

    return Handler


def listed(path: Path, message) -> dict:
    """One message in /messages.json: its headers, and where to read it (page) or fetch it as sent (raw)."""
    return {
        "name": path.name,
        "subject": str(message["Subject"] or ""),
        "from": str(message["From"] or ""),
        "to": [str(address.addr_spec) for address in getattr(message["To"], "addresses", ())],
        "date": str(message["Date"] or ""),
        "page": f"/{path.name}",
        "raw": f"/raw/{path.name}",
    }


def start(*, smtp_port: int, port: int, directory: Path) -> tuple[Controller, ThreadingHTTPServer]:
    controller = Controller(Keeper(directory), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    return controller, ThreadingHTTPServer(("127.0.0.1", port), page_handler(directory))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller, server = start(smtp_port=args.smtp_port, port=args.port, directory=args.dir)
    print(
        f"mailbox: SMTP on 127.0.0.1:{args.smtp_port}, mail at http://127.0.0.1:{args.port}/ (JSON: /messages.json)",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

"""Drive a running stack the way a newcomer does: the API as a signed-in user, devdns, curl through the edge.

Shared by the end-to-end test and the record-to-live benchmark.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import requests

from devstack.stack import ROOT, Ports, Stack


def free_ports() -> Ports:
    """A distinct free loopback port for every process (held open together so none repeats)."""
    names = [f.name for f in dataclasses.fields(Ports)]
    sockets = []
    try:
        for _ in names:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        ports = {name: sock.getsockname()[1] for name, sock in zip(names, sockets, strict=True)}
    finally:
        for sock in sockets:
            sock.close()
    return Ports(**ports)


class PortalSession:
    """A signed-in browser-like session using the API with its session cookie and CSRF token."""

    def __init__(self, stack: Stack, username: str, password: str) -> None:
        self.base = f"http://127.0.0.1:{stack.ports.web}"
        self.http = requests.Session()
        login = f"{self.base}/accounts/login/"
        self.http.get(login, timeout=10).raise_for_status()
        response = self.http.post(
            login,
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]},
            headers={"Referer": login},
            timeout=10,
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in as {username} failed: {response.status_code}")

    def _headers(self) -> dict:
        return {"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "Referer": self.base + "/"}

    def add_domain(self, hostname: str) -> dict:
        response = self.http.post(
            f"{self.base}/api/v1/domains/", json={"hostname": hostname}, headers=self._headers(), timeout=15
        )
        if response.status_code != 201:
            raise RuntimeError(f"adding {hostname} failed: {response.status_code} {response.text}")
        return response.json()

    def domain(self, domain_id: str) -> dict:
        response = self.http.get(f"{self.base}/api/v1/domains/{domain_id}/", timeout=10)
        response.raise_for_status()
        return response.json()

    def watch(self, domain_id: str) -> str:
        """The domain's status as its open page asks for it (every 3 s), which makes a pending domain's check due."""
        response = self.http.get(f"{self.base}/domains/{domain_id}/status/", timeout=10)
        response.raise_for_status()
        return response.json()["status"]

    def add_webhook(self, url: str) -> dict:
        """A webhook endpoint for every event type; the answer carries its signing secret (shown only here)."""
        response = self.http.post(
            f"{self.base}/api/v1/webhooks/", json={"url": url}, headers=self._headers(), timeout=15
        )
        if response.status_code != 201:
            raise RuntimeError(f"adding the webhook {url} failed: {response.status_code} {response.text}")
        return response.json()


def receiver_hooks_url(stack: Stack) -> str:
    """Where the stack's demo webhook receiver takes deliveries (the URL the try-it block tells you to add)."""
    return f"http://127.0.0.1:{stack.ports.receiver}/hooks"


def webhooks_received(stack: Stack) -> list[dict]:
    """What the demo receiver has been sent, newest first: type, hostname, verified, payload (its /received.json)."""
    return _get_json(f"http://127.0.0.1:{stack.ports.receiver}/received.json")


def mail_received(stack: Stack) -> list[dict]:
    """The local mailbox's messages, newest first: subject, from, to, and page and raw links (its /messages.json)."""
    return _get_json(f"http://127.0.0.1:{stack.ports.mailbox}/messages.json")


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def publish(stack: Stack, name: str, rtype: str, value: str) -> None:
    """What the tenant does at their DNS provider, on the stack's loopback DNS server:
    the `python -m devdns add` command the try-it block prints, run from the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "DEVDNS_STATE"}  # a fresh shell
    _run(stack.devdns_args("add", name, rtype, value), env=env)


def through_edge(stack: Stack, hostname: str) -> tuple[int, dict | None]:
    """GET / through the local CloudFront with this Host; the origin's JSON when served."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.ports.edge}/", headers={"Host": hostname, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def through_edge_https(stack: Stack, hostname: str) -> tuple[int, dict | None]:
    """GET / over HTTPS through the local CloudFront, as curl --cacert var/edge-ca.pem --resolve does:
    SNI and Host are `hostname`, the certificate must verify against the edge's CA file.
    (0, None) while the handshake fails (no certificate issued for it yet)."""
    import http.client
    import ssl

    try:
        context = ssl.create_default_context(cafile=str(stack.edge_ca_file))
        with socket.create_connection(("127.0.0.1", stack.ports.edge_tls), timeout=10) as sock:
            with context.wrap_socket(sock, server_hostname=hostname) as tls:
                connection = http.client.HTTPConnection(hostname, timeout=10)
                connection.sock = tls
                connection.request("GET", "/", headers={"Accept": "application/json"})
                response = connection.getresponse()
                body = response.read()
    except (OSError, ssl.SSLError):
        return 0, None
    return response.status, json.loads(body) if response.status == 200 else None


def manage(stack: Stack, *args: str) -> str:
    """Run a manage.py command against the stack's database; its output."""
    return _run([str(ROOT / "manage.py"), *args], env=stack.environment())


def _run(args: list[str], *, env: dict) -> str:
    """`python ARGS` from the checkout; its output, or RuntimeError with what it said."""
    result = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def workspace_public_id(stack: Stack, name: str) -> str:
    return manage(
        stack,
        "shell",
        "-v",
        "0",
        "-c",
        f"from workspaces.models import Workspace; print(Workspace.objects.get(name={name!r}).public_id)",
    ).strip()

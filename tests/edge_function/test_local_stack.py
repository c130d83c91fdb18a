"""Through the local CloudFront stand-in over HTTP, against the moto endpoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.edge_function.conftest import Table

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "test-origin-secret-0123456789"
POLL = 2.0


def start(module: str, *args: str) -> tuple[subprocess.Popen, str]:
    """Start ``python -m module --port 0 ...`` and return it with its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        pytest.fail(f"{module} did not start: {line!r}")
    # Keep reading its stdout (the edge logs JSON lines there) so a full pipe never blocks it.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, match.group(1)


def get(url: str, host: str, headers: dict | None = None) -> tuple[int, dict | str, dict]:
    request = urllib.request.Request(url, headers={"Host": host, "Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body, hdrs = (
                response.status,
                response.read().decode(),
                dict(response.headers),
            )
    except urllib.error.HTTPError as exc:
        status, body, hdrs = exc.code, exc.read().decode(), dict(exc.headers)
    if hdrs.get("Content-Type") == "application/json":
        body = json.loads(body)
    return status, body, hdrs


@pytest.fixture
def stack(dynamodb_endpoint, tmp_path):
    table = Table(dynamodb_endpoint)
    config = tmp_path / "edge.json"
    config.write_text(
        json.dumps(
            {
                "table_name": table.name,
                "replica_regions": ["us-east-1"],
                "endpoint_url": dynamodb_endpoint,
                "shard_poll_seconds": POLL,
                "pass_through_suffixes": ["ve.ai"],
                "read_timeout_seconds": 5.0,
            }
        )
    )
    origin, origin_url = start("edgelocal.origin", "--secret", SECRET)
    edge, edge_url = start(
        "edgelocal.cloudfront",
        "--origin",
        origin_url,
        "--origin-secret",
        SECRET,
        "--edge-config",
        str(config),
    )
    yield table, edge_url + "/", origin_url + "/"
    for process in (edge, origin):
        process.terminate()
        process.wait(timeout=5)


def test_a_connected_domain_reaches_the_origin_with_its_workspace_until_it_is_tombstoned(
    stack,
):
    table, edge, _ = stack
    table.serve("gallery.client.com", "ws-alice")

    status, body, headers = get(edge + "photos/1?size=large", "Gallery.Client.com")

    assert status == 200
    assert body["workspace_id"] == "ws-alice"
    assert body["forwarded_host"] == "gallery.client.com"
    assert body["path"] == "/photos/1?size=large"
    assert headers["X-Cache"] == "Miss from cloudfront"

    table.tombstone("gallery.client.com", "ws-alice")  # the hostname's item, its shard and the head
    tombstoned_at = time.monotonic()
    deadline = tombstoned_at + POLL + 8
    while time.monotonic() < deadline:
        status, body, _ = get(edge, "gallery.client.com")
        if status == 404:
            break
        assert body["workspace_id"] == "ws-alice"
        time.sleep(0.2)

    assert status == 404
    assert "not connected to a VE.AI workspace" in body
    assert time.monotonic() - tombstoned_at <= POLL + 1  # the next poll of the head saw the change


def test_a_viewer_cannot_choose_its_workspace_through_the_edge(stack):
    table, edge, _ = stack
    table.serve("gallery.client.com", "ws-alice")

    status, body, _ = get(edge, "gallery.client.com", {"X-Workspace-Id": "ws-charlie"})

    assert status == 200
    assert body["workspace_id_headers"] == ["ws-alice"]


def test_an_unknown_domain_gets_the_edge_404_page(stack):
    _, edge, _ = stack

    status, body, headers = get(edge, "nobody.client.com")

    assert status == 404
    assert "nobody.client.com" in body
    assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_a_platform_host_passes_through_without_a_workspace(stack):
    _, edge, _ = stack

    status, body, _ = get(edge, "app.ve.ai")

    assert status == 200
    assert body["workspace_id_headers"] == []
    assert body["host"] == "app.ve.ai"


def test_the_origin_refuses_requests_that_bypass_the_edge(stack):
    _, _, origin = stack

    status, _, _ = get(origin, "gallery.client.com", {"X-Workspace-Id": "ws-charlie"})

    assert status == 403

"""The DynamoDB wrapper against a real endpoint on loopback: versioned writes, reads, scans."""

import time

import pytest

from domains.edge import store as edge_store
from domains.edge.store import EdgeStoreUnavailable, WriteResult
from tests.fixtures.processes import free_port


def put(host="gallery.client-domain.com", version=10, state="serve", workspace="ws_a"):
    return edge_store.put_item(hostname=host, workspace_id=workspace, version=version, state=state)


def test_a_serve_item_is_written_with_the_contract_shape(edge_table):
    assert put() is WriteResult.WRITTEN
    item = edge_table.item("gallery.client-domain.com")
    assert item["workspace_id"] == "ws_a"
    assert item["version"] == 10
    assert item["state"] == "serve"
    assert item["updated_at"].endswith("Z")
    assert "expires_at" not in item


def test_a_tombstone_expires_a_few_days_ahead(edge_table, settings):
    settings.EDGE_TOMBSTONE_DAYS = 3
    put(state="gone")
    item = edge_table.item("gallery.client-domain.com")
    assert item["state"] == "gone"
    assert 3 * 86400 - 60 < item["expires_at"] - time.time() <= 3 * 86400


def test_an_older_version_never_overwrites_a_newer_one(edge_table):
    put(version=20, workspace="ws_new")
    assert put(version=19, workspace="ws_old", state="gone") is WriteResult.SUPERSEDED
    item = edge_table.item("gallery.client-domain.com")
    assert (item["version"], item["workspace_id"], item["state"]) == (20, "ws_new", "serve")


def test_the_same_version_twice_is_harmless(edge_table):
    assert put(version=5) is WriteResult.WRITTEN
    assert put(version=5) is WriteResult.SUPERSEDED
    assert edge_table.item("gallery.client-domain.com")["version"] == 5


def test_a_newer_version_replaces_the_item(edge_table):
    put(version=5)
    assert put(version=6, state="gone") is WriteResult.WRITTEN
    assert edge_table.item("gallery.client-domain.com")["state"] == "gone"


def test_get_item_shows_what_the_edge_holds_or_none(edge_table):
    assert edge_store.get_item("unknown.client-domain.com") is None
    put(version=7)
    got = edge_store.get_item("gallery.client-domain.com")
    assert got["host"] == "gallery.client-domain.com"
    assert (got["workspace_id"], got["version"], got["state"]) == ("ws_a", 7, "serve")


def test_a_parallel_scan_returns_every_item_once_across_pages(edge_table):
    hosts = {f"h{i}.client-domain.com" for i in range(60)}
    edge_table.load([edge_store.build_item(hostname=h, workspace_id="ws", version=1, state="serve") for h in hosts])
    scanned = [item.host for item in edge_store.scan_items(segments=4, page_size=7)]
    assert sorted(scanned) == sorted(hosts)


def test_an_unreachable_endpoint_is_a_retryable_error(edge_table, settings):
    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EdgeStoreUnavailable):
        put()
    with pytest.raises(EdgeStoreUnavailable):
        list(edge_store.scan_items(segments=2))


def test_a_missing_table_is_not_mistaken_for_an_outage(edge_table, settings):
    settings.DYNAMODB_TABLE = "no-such-table"
    with pytest.raises(edge_store.EdgeStoreError):
        put()


def test_the_client_is_cached_until_reset_or_settings_change(edge_table, settings):
    first = edge_store.get_client()
    assert edge_store.get_client() is first
    settings.DYNAMODB_READ_TIMEOUT = 7.0
    second = edge_store.get_client()
    assert second is not first
    assert second.meta.config.read_timeout == 7.0
    assert second.meta.config.connect_timeout == 1.0
    edge_store.reset_client()
    assert edge_store.get_client() is not second


def test_a_failing_endpoint_is_asked_exactly_dynamodb_max_attempts_times(edge_table, settings):
    """DYNAMODB_MAX_ATTEMPTS counts the first try too (botocore's max_attempts would add one more)."""
    import http.server
    import threading

    requests = []

    class Failing(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests.append(self.path)
            body = b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"down"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{server.server_address[1]}"
        settings.DYNAMODB_MAX_ATTEMPTS = 2
        with pytest.raises(EdgeStoreUnavailable):
            put()
    finally:
        server.shutdown()
        server.server_close()
    assert len(requests) == 2

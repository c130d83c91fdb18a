"""Helpers for edge-function tests: CloudFront events (from edgelocal.events, the
builder the local CloudFront and the benchmarks use too), a controllable clock,
and per-test tables on the session's moto server."""

from __future__ import annotations

import random
import socket
import threading
import uuid
from collections.abc import Callable

import pytest

from edge_function import shards
from edge_function.cache import EdgeCache
from edge_function.config import validate
from edge_function.handler import EdgeHandler, build_reader
from edgelocal import events
from tests.fixtures.dynamodb import create_edge_table, dynamodb_client
from tests.fixtures.processes import free_port

ORIGIN_DOMAIN = "main.d1a2b3c4.amplifyapp.com"


def origin_request(
    host: str | None = "gallery.client.com",
    *,
    extra_headers: list[tuple[str, str]] = (),
    event_type: str = "origin-request",
    uri: str = "/",
    querystring: str = "",
    s3_origin: bool = False,
) -> dict:
    """A curl-like request for ``host`` (None: no Host header) as CloudFront hands it
    to the function, bound for the Amplify origin (or an S3 bucket)."""
    headers = [*([("Host", host)] if host is not None else []), ("User-Agent", "curl/8.5.0"), ("Accept", "*/*")]
    origin = None
    if event_type == "origin-request":
        origin = (
            events.s3_origin("ve-gallery-assets.s3.amazonaws.com")
            if s3_origin
            else events.custom_origin(ORIGIN_DOMAIN, custom_headers=[("X-Origin-Secret", "s3cret")])
        )
    return events.request_event(
        [*headers, *extra_headers], origin=origin, event_type=event_type, uri=uri, querystring=querystring
    )


def header(request: dict, name: str) -> list[str]:
    return [h["value"] for h in request["headers"].get(name, [])]


class FakeClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Table:
    """One fresh table on a DynamoDB endpoint, written the way the portal writes it: one item per
    hostname, and (with ``shard_count``) the shard holding each change and then the head.

    ``deltas=True`` also lists each change in the head, as the portal does for recent changes."""

    def __init__(
        self,
        endpoint: str,
        region: str = "us-east-1",
        name: str | None = None,
        *,
        shard_count: int | None = 4,
        deltas: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.region = region
        self.name = name or f"edge-{uuid.uuid4().hex[:12]}"
        self.client = dynamodb_client(endpoint, region)
        create_edge_table(self.client, self.name)
        self._versions: dict[str, int] = {}
        self.shard_count = shard_count
        self.deltas = deltas
        self.served: dict[str, str] = {}
        self.shard_versions: list[int] = [0] * (shard_count or 0)
        self._recent: list[shards.Delta] = []
        self.head_version = 0
        if shard_count:
            self.publish(range(shard_count))

    def serve(self, host: str, workspace_id: str) -> None:
        self._put(host, {"workspace_id": {"S": workspace_id}, "state": {"S": "serve"}})
        self._change(host, workspace_id)

    def tombstone(self, host: str, workspace_id: str) -> None:
        self._put(
            host,
            {
                "workspace_id": {"S": workspace_id},
                "state": {"S": "gone"},
                "expires_at": {"N": "4102444800"},
            },
        )
        self._change(host, None)

    def serve_many(self, pairs: dict[str, str]) -> None:
        """Many hostnames at once: one write per shard (no per-host items)."""
        self.served.update(pairs)
        self.publish({shards.shard_of(host, self.shard_count) for host in pairs})

    def shard_of(self, host: str) -> int:
        return shards.shard_of(host, self.shard_count)

    def shard_map(self, index: int) -> dict[str, str]:
        return {h: w for h, w in self.served.items() if shards.shard_of(h, self.shard_count) == index}

    def _change(self, host: str, workspace_id: str | None) -> None:
        if workspace_id is None:
            self.served.pop(host, None)
        else:
            self.served[host] = workspace_id
        if self.shard_count:
            index = shards.shard_of(host, self.shard_count)
            self.publish([index], changes={host: workspace_id or ""})

    def publish(self, indices, changes: dict[str, str] | None = None) -> None:
        """Write the given shards (next version each), then the head."""
        for index in indices:
            before = self.shard_versions[index]
            self.write_shard(index, before + 1, self.shard_map(index))
            if self.deltas and changes is not None and before:
                self._recent.append((index, before, before + 1, changes))
        self.write_head()

    def write_shard(self, index: int, version: int, mapping: dict[str, str], count: int | None = None) -> None:
        count = count or self.shard_count
        data, digest = shards.encode_shard(mapping)
        self.client.put_item(
            TableName=self.name,
            Item={
                "host": {"S": shards.shard_key(count, index)},
                "version": {"N": str(version)},
                "count": {"N": str(count)},
                "index": {"N": str(index)},
                "format": {"N": str(shards.FORMAT)},
                "hosts": {"N": str(len(mapping))},
                "digest": {"S": digest},
                "data": {"B": data},
            },
        )
        if count == self.shard_count:
            self.shard_versions[index] = max(self.shard_versions[index], version)

    def write_head(self) -> None:
        self.head_version += 1
        self.client.put_item(
            TableName=self.name,
            Item={
                "host": {"S": shards.HEAD_KEY},
                "version": {"N": str(self.head_version)},
                "count": {"N": str(self.shard_count)},
                "format": {"N": str(shards.FORMAT)},
                "data": {"B": shards.encode_head(self.shard_count, self.shard_versions, self._recent)},
            },
        )

    def reshard(self, count: int) -> None:
        """Move to ``count`` shards: every new shard first, then the head."""
        self.shard_count = count
        self.shard_versions = [0] * count
        self._recent = []
        self.publish(range(count))

    def _put(self, host: str, attributes: dict) -> None:
        version = self._versions[host] = self._versions.get(host, 0) + 1
        self.client.put_item(
            TableName=self.name,
            Item={
                "host": {"S": host},
                "version": {"N": str(version)},
                "updated_at": {"S": "2026-01-01T00:00:00+00:00"},
                **attributes,
            },
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def table(dynamodb_endpoint) -> Table:
    return Table(dynamodb_endpoint)


class HungServer:
    """A TCP server on loopback that accepts every connection and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)  # held open, never read from nor written to

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def hung_endpoint():
    server = HungServer()
    yield server
    server.close()


def point_reader_at(handler: EdgeHandler, region: str, url: str) -> None:
    """Send the handler's reads for ``region`` to ``url`` from now on (a replica going bad)."""
    handler.reader._endpoint_urls[region] = url
    handler.reader._clients.pop(region, None)


@pytest.fixture
def closed_endpoint() -> str:
    """A loopback URL nobody listens on: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def make_handler(clock, aws_fake_credentials) -> Callable[..., EdgeHandler]:
    """An EdgeHandler on the injected clock; ``endpoints`` maps region -> URL. Shard mode
    unless ``lookup_mode="host"`` is passed."""

    def make(
        table_name: str,
        endpoints: dict[str, str],
        *,
        current_region: str = "us-east-1",
        regions: list[str] | None = None,
        logs: list | None = None,
        **overrides,
    ) -> EdgeHandler:
        config = validate(
            {
                "table_name": table_name,
                "replica_regions": regions or list(endpoints),
                "endpoint_urls": endpoints,
                "ttl_jitter": 0.0,
                "connect_timeout_seconds": 0.5,
                "read_timeout_seconds": 2.0,
                # Room for a loaded CI machine's moto; the tests of the budget itself set theirs.
                "lookup_budget_seconds": 5.0,
                **overrides,
            }
        )
        cache = EdgeCache(
            max_entries=config["cache_max_entries"],
            positive_ttl=config["positive_ttl_seconds"],
            negative_ttl=config["negative_ttl_seconds"],
            jitter=config["ttl_jitter"],
            stale_window=config["stale_if_error_seconds"],
            rng=random.Random(7),
        )
        reader = build_reader(config, current_region)
        sink = logs if logs is not None else []
        return EdgeHandler(config, clock=clock, cache=cache, reader=reader, emit=sink.append)

    return make

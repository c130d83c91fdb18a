"""Helpers for edge-function tests: CloudFront events (from edgelocal.events, the
builder the local CloudFront and the benchmarks use too), a controllable clock,
and per-test tables on the session's moto server."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

import pytest

from edge_function.cache import EdgeCache
from edge_function.config import validate
from edge_function.handler import EdgeHandler
from edge_function.replicas import ReplicaReader, boto3_client_factory
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
    """One fresh table on a DynamoDB endpoint, with the portal's item shape."""

    def __init__(self, endpoint: str, region: str = "us-east-1", name: str | None = None) -> None:
        self.endpoint = endpoint
        self.region = region
        self.name = name or f"edge-{uuid.uuid4().hex[:12]}"
        self.client = dynamodb_client(endpoint, region)
        create_edge_table(self.client, self.name)
        self._versions: dict[str, int] = {}

    def serve(self, host: str, workspace_id: str) -> None:
        self._put(host, {"workspace_id": {"S": workspace_id}, "state": {"S": "serve"}})

    def tombstone(self, host: str, workspace_id: str) -> None:
        self._put(
            host,
            {
                "workspace_id": {"S": workspace_id},
                "state": {"S": "gone"},
                "expires_at": {"N": "4102444800"},
            },
        )

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


@pytest.fixture
def closed_endpoint() -> str:
    """A loopback URL nobody listens on: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def make_handler(clock, aws_fake_credentials) -> Callable[..., EdgeHandler]:
    """An EdgeHandler on the injected clock; ``endpoints`` maps region -> URL."""

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
        reader = ReplicaReader(
            table=config["table_name"],
            regions=config["replica_regions"],
            current_region=current_region,
            endpoint_urls=config["endpoint_urls"],
            retries_per_region=config["retries_per_region"],
            client_factory=boto3_client_factory(config["connect_timeout_seconds"], config["read_timeout_seconds"]),
        )
        sink = logs if logs is not None else []
        return EdgeHandler(config, clock=clock, cache=cache, reader=reader, emit=sink.append)

    return make

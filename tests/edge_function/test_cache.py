"""Host mode (the per-host TTL cache), driven by an injected clock against a real moto endpoint."""

import functools
import random
import time

import pytest

from edge_function.cache import EdgeCache
from tests.edge_function.conftest import Table, header, origin_request, point_reader_at


@pytest.fixture
def make_handler(make_handler):
    return functools.partial(make_handler, lookup_mode="host")


def workspace_of(response):
    return header(response, "x-workspace-id") or response.get("status")


def test_it_answers_from_memory_until_the_positive_ttl_has_passed(make_handler, table, clock):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(table.name, {"us-east-1": table.endpoint}, positive_ttl_seconds=300)
    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]

    table.serve("gallery.client.com", "ws-bob")
    clock.advance(299)
    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]

    clock.advance(2)
    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-bob"]
    assert handler.cache.misses == 2


def test_it_stops_serving_a_tombstoned_domain_once_the_positive_ttl_has_passed(make_handler, table, clock):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(table.name, {"us-east-1": table.endpoint}, positive_ttl_seconds=300)
    handler(origin_request("gallery.client.com"))

    table.tombstone("gallery.client.com", "ws-alice")
    clock.advance(301)

    assert handler(origin_request("gallery.client.com"))["status"] == "404"


def test_it_remembers_an_unknown_host_for_the_negative_ttl_only(make_handler, table, clock):
    handler = make_handler(table.name, {"us-east-1": table.endpoint}, negative_ttl_seconds=30)
    assert handler(origin_request("new.client.com"))["status"] == "404"

    table.serve("new.client.com", "ws-alice")
    clock.advance(29)
    assert handler(origin_request("new.client.com"))["status"] == "404"
    assert handler.cache.negative_hits == 1

    clock.advance(2)
    assert workspace_of(handler(origin_request("new.client.com"))) == ["ws-alice"]


def test_it_keeps_at_most_the_configured_number_of_hosts_evicting_the_least_recently_used(make_handler, table, clock):
    for name in ("a", "b", "c"):
        table.serve(f"{name}.client.com", f"ws-{name}")
    handler = make_handler(table.name, {"us-east-1": table.endpoint}, cache_max_entries=2)

    handler(origin_request("a.client.com"))
    handler(origin_request("b.client.com"))
    handler(origin_request("a.client.com"))  # a is now more recent than b
    handler(origin_request("c.client.com"))

    assert len(handler.cache) == 2
    assert "a.client.com" in handler.cache
    assert "b.client.com" not in handler.cache
    assert handler.cache.evictions == 1


def test_it_serves_a_stale_entry_when_dynamodb_cannot_answer(make_handler, dynamodb_endpoint_factory, clock):
    server = dynamodb_endpoint_factory()
    table = Table(server.url)
    table.serve("gallery.client.com", "ws-alice")
    logs = []
    handler = make_handler(table.name, {"us-east-1": server.url}, logs=logs, positive_ttl_seconds=300)
    handler(origin_request("gallery.client.com"))

    server.stop()
    clock.advance(3600)
    request = handler(origin_request("gallery.client.com"))

    assert header(request, "x-workspace-id") == ["ws-alice"]
    assert handler.cache.stale_serves == 1
    lookups = [line for line in logs if line["event"] == "edge_lookup"]
    assert lookups[-1]["outcome"] == "stale"


def test_it_stops_serving_stale_entries_after_the_stale_window(make_handler, closed_endpoint, table, clock):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(
        table.name,
        {"us-east-1": table.endpoint},
        positive_ttl_seconds=300,
        stale_if_error_seconds=600,
    )
    handler(origin_request("gallery.client.com"))

    handler.reader._endpoint_urls["us-east-1"] = closed_endpoint
    handler.reader._clients.clear()
    clock.advance(300 + 601)

    assert handler(origin_request("gallery.client.com"))["status"] == "503"


def test_it_answers_503_with_retry_after_when_nothing_is_known_and_dynamodb_is_down(
    make_handler, closed_endpoint, clock
):
    logs = []
    handler = make_handler("ve-custom-domains", {"us-east-1": closed_endpoint}, logs=logs)

    response = handler(origin_request("gallery.client.com", extra_headers=[("x-workspace-id", "ws-charlie")]))

    assert response["status"] == "503"
    assert header(response, "retry-after") == ["5"]
    assert header(response, "cache-control") == ["no-store"]
    assert "x-workspace-id" not in response["headers"]
    assert logs[-1]["outcome"] == "unavailable"
    assert "EndpointConnectionError" in logs[-1]["errors"][0]


def test_it_does_not_cache_an_outage(make_handler, closed_endpoint, table, clock):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(table.name, {"us-east-1": closed_endpoint})
    assert handler(origin_request("gallery.client.com"))["status"] == "503"

    handler.reader._endpoint_urls["us-east-1"] = table.endpoint
    handler.reader._clients.clear()

    assert header(handler(origin_request("gallery.client.com")), "x-workspace-id") == ["ws-alice"]


def test_its_jittered_expiry_never_exceeds_the_configured_ttl_and_spreads_below_it():
    cache = EdgeCache(positive_ttl=300, negative_ttl=30, jitter=0.1, rng=random.Random(1))

    fresh_until = [cache.put(f"h{i}.com", "ws", now=0.0)[1] for i in range(1000)]

    assert min(fresh_until) >= 270
    assert max(fresh_until) <= 300
    assert max(fresh_until) - min(fresh_until) > 20


def test_a_hung_replica_costs_one_budget_then_the_stale_answer_is_kept_for_the_back_off(
    make_handler, table, clock, hung_endpoint
):
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(
        table.name,
        {"us-east-1": table.endpoint},
        positive_ttl_seconds=300,
        lookup_budget_seconds=1.0,
        failure_backoff_seconds=5,
    )
    handler(origin_request("gallery.client.com"))
    point_reader_at(handler, "us-east-1", hung_endpoint.url)
    clock.advance(301)

    started = time.monotonic()
    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]
    assert 0.9 <= time.monotonic() - started < 1.5

    clock.advance(4)
    started = time.monotonic()
    assert workspace_of(handler(origin_request("gallery.client.com"))) == ["ws-alice"]
    assert time.monotonic() - started < 0.2
    assert handler.cache.misses == 2

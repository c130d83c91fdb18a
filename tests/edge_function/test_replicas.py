import time

import pytest

from edge_function.replicas import order_regions
from tests.edge_function.conftest import Table, header, origin_request

REPLICAS = ["us-east-1", "eu-west-1", "ap-southeast-1", "eu-central-1"]


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("us-east-1", ["us-east-1", "eu-west-1", "ap-southeast-1", "eu-central-1"]),
        ("eu-central-1", ["eu-central-1", "eu-west-1", "us-east-1", "ap-southeast-1"]),
        ("eu-west-2", ["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-1"]),
        ("us-west-2", ["us-east-1", "eu-west-1", "ap-southeast-1", "eu-central-1"]),
        (
            "ap-northeast-1",
            ["ap-southeast-1", "us-east-1", "eu-west-1", "eu-central-1"],
        ),
        ("sa-east-1", REPLICAS),
        (None, REPLICAS),
    ],
)
def test_it_asks_the_nearest_replica_first(current, expected):
    assert order_regions(current, REPLICAS) == expected


def test_it_fails_over_to_the_next_replica_when_the_nearest_is_down(
    make_handler, dynamodb_endpoint, dynamodb_endpoint_factory
):
    near = dynamodb_endpoint_factory()
    far_table = Table(dynamodb_endpoint, region="us-east-1")
    near_table = Table(near.url, region="eu-west-1", name=far_table.name)
    for replica in (near_table, far_table):  # what global-table replication would do
        replica.serve("gallery.client.com", "ws-alice")
    logs = []
    handler = make_handler(
        far_table.name,
        {"eu-west-1": near.url, "us-east-1": dynamodb_endpoint},
        regions=["us-east-1", "eu-west-1"],
        current_region="eu-west-1",
        logs=logs,
        lookup_mode="host",
    )
    handler(origin_request("other.client.com"))
    assert logs[-1]["region"] == "eu-west-1"

    near.stop()
    request = handler(origin_request("gallery.client.com"))

    assert header(request, "x-workspace-id") == ["ws-alice"]
    assert logs[-1]["region"] == "us-east-1"


def test_one_lookup_ends_within_the_budget_however_many_replicas_hang(make_handler, hung_endpoint):
    regions = ["us-east-1", "eu-west-1", "ap-southeast-1"]
    handler = make_handler(
        "ve-custom-domains",
        dict.fromkeys(regions, hung_endpoint.url),
        lookup_budget_seconds=1.5,
        read_timeout_seconds=1.0,
        retries_per_region=1,
    )

    started = time.monotonic()
    response = handler(origin_request("gallery.client.com"))
    waited = time.monotonic() - started

    # Without a budget: 3 replicas x 2 attempts x 1 s read timeout, more than the function's old 5 s timeout.
    assert response["status"] == "503"
    assert 1.4 <= waited < 1.8
    assert len(hung_endpoint.accepted) >= 2, "a hung replica is left for the next one"


def test_a_hung_nearest_replica_leaves_time_to_answer_from_the_next(make_handler, dynamodb_endpoint, hung_endpoint):
    table = Table(dynamodb_endpoint)
    table.serve("gallery.client.com", "ws-alice")
    handler = make_handler(
        table.name,
        {"eu-west-1": hung_endpoint.url, "us-east-1": dynamodb_endpoint},
        regions=["us-east-1", "eu-west-1"],
        current_region="eu-west-1",
        lookup_budget_seconds=1.5,
        read_timeout_seconds=0.5,
    )

    started = time.monotonic()
    request = handler(origin_request("gallery.client.com"))

    assert header(request, "x-workspace-id") == ["ws-alice"]
    assert time.monotonic() - started < 1.5

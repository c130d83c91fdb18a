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
    )
    handler(origin_request("other.client.com"))
    assert logs[-1]["region"] == "eu-west-1"

    near.stop()
    request = handler(origin_request("gallery.client.com"))

    assert header(request, "x-workspace-id") == ["ws-alice"]
    assert logs[-1]["region"] == "us-east-1"

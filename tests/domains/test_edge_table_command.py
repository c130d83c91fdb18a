"""`manage.py edge_table create|describe`: idempotent on a real endpoint, replica calls checked against the service model."""

import io
import uuid

import boto3
import pytest
from botocore.stub import ANY, Stubber
from django.core.management import CommandError, call_command

from domains.edge import store as edge_store


def run(*args) -> str:
    out = io.StringIO()
    call_command("edge_table", *args, "--wait-delay", "0.05", stdout=out)
    return out.getvalue()


@pytest.fixture
def fresh_table(edge_table, settings):
    """Settings pointed at the local endpoint with a table name nobody created yet."""
    settings.DYNAMODB_TABLE = f"edge-new-{uuid.uuid4().hex[:8]}"
    edge_table.name = settings.DYNAMODB_TABLE
    return edge_table


def test_create_makes_the_table_the_edge_needs(fresh_table):
    out = run("create")
    assert "Creating table" in out and "matches" in out
    table = fresh_table.client.describe_table(TableName=fresh_table.name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "host", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = fresh_table.client.describe_time_to_live(TableName=fresh_table.name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


def test_create_twice_is_harmless(fresh_table):
    run("create")
    edge_store.put_item(hostname="kept.client-domain.com", workspace_id="ws_a", version=1, state="serve")
    out = run("create")
    assert "already exists" in out and "matches" in out
    assert fresh_table.item("kept.client-domain.com")["workspace_id"] == "ws_a"


def test_on_an_existing_table_of_another_shape_it_says_what_differs(edge_table):
    # The test fixture's table has no stream: global tables would refuse it.
    out = run("create")
    assert "already exists" in out
    assert "stream is off, expected NEW_AND_OLD_IMAGES" in out


def test_describe_prints_status_items_and_replicas(fresh_table):
    run("create")
    out = run("describe")
    assert "Status:   ACTIVE" in out and "Items:" in out and "Replicas: none" in out


def test_describe_a_missing_table_is_an_error(fresh_table):
    with pytest.raises(CommandError, match="does not exist"):
        run("describe")


def _table(status="ACTIVE", replicas=()):
    return {
        "Table": {
            "TableName": "ve-custom-domains",
            "TableStatus": status,
            "KeySchema": [{"AttributeName": "host", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "host", "AttributeType": "S"}],
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "ItemCount": 0,
            "Replicas": [{"RegionName": r, "ReplicaStatus": s} for r, s in replicas],
        }
    }


def test_replicas_are_added_one_at_a_time_with_calls_valid_for_the_service_model(
    settings, monkeypatch, aws_fake_credentials
):
    settings.DYNAMODB_TABLE = "ve-custom-domains"
    settings.DYNAMODB_HOME_REGION = "us-east-1"
    settings.DYNAMODB_REPLICA_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    client = boto3.client("dynamodb", region_name="us-east-1")
    stub = Stubber(client)
    name = {"TableName": "ve-custom-domains"}
    ttl = {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}}

    stub.add_client_error("describe_table", "ResourceNotFoundException", expected_params=name)
    stub.add_response(
        "create_table",
        {"TableDescription": {"TableName": "ve-custom-domains", "TableStatus": "CREATING"}},
        {
            **name,
            "AttributeDefinitions": [{"AttributeName": "host", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "host", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
    stub.add_response("describe_table", _table("CREATING"), name)
    stub.add_response("describe_table", _table(), name)
    stub.add_response(
        "update_time_to_live",
        {"TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"}},
        {**name, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"}},
    )
    # The home region is skipped; each replica waits until it is ACTIVE before the next starts.
    stub.add_response("update_table", {}, {**name, "ReplicaUpdates": [{"Create": {"RegionName": "eu-west-1"}}]})
    stub.add_response("describe_table", _table("UPDATING", [("eu-west-1", "CREATING")]), name)
    stub.add_response("describe_table", _table("ACTIVE", [("eu-west-1", "ACTIVE")]), name)
    stub.add_response("update_table", {}, {**name, "ReplicaUpdates": [{"Create": {"RegionName": "ap-southeast-2"}}]})
    both = [("eu-west-1", "ACTIVE"), ("ap-southeast-2", "ACTIVE")]
    stub.add_response("describe_table", _table("ACTIVE", both), name)
    # describe after create
    stub.add_response("describe_table", _table("ACTIVE", both), name)
    stub.add_response("describe_time_to_live", ttl, name)

    monkeypatch.setattr(edge_store, "get_client", lambda region=None: client)
    with stub:
        out = run("create")
    stub.assert_no_pending_responses()
    assert (
        out.index("Adding replica eu-west-1")
        < out.index("Replica eu-west-1 is ACTIVE")
        < out.index("Adding replica ap-southeast-2")
    )
    assert "Replicas: eu-west-1 (ACTIVE), ap-southeast-2 (ACTIVE)" in out


def test_existing_replicas_are_not_added_again(settings, monkeypatch, aws_fake_credentials):
    settings.DYNAMODB_TABLE = "ve-custom-domains"
    settings.DYNAMODB_REPLICA_REGIONS = ["eu-west-1"]
    client = boto3.client("dynamodb", region_name="us-east-1")
    stub = Stubber(client)
    ttl = {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}}
    for _ in range(2):  # create's check, then describe
        stub.add_response("describe_table", _table("ACTIVE", [("eu-west-1", "ACTIVE")]), {"TableName": ANY})
        stub.add_response("describe_time_to_live", ttl, {"TableName": ANY})
    monkeypatch.setattr(edge_store, "get_client", lambda region=None: client)
    with stub:
        out = run("create")
    stub.assert_no_pending_responses()
    assert "Adding replica" not in out and "matches" in out

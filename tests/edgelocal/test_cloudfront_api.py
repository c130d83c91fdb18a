"""The stand-in's CloudFront API through the real boto3 client: what the portal will see on AWS."""

from __future__ import annotations

import datetime
import json
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from edgelocal._http import Server
from edgelocal.api import Faults, make_handler
from edgelocal.tenants import CONNECTION_GROUP_ID, DISTRIBUTION_ID, Registry

HOST = "gallery.client-domain.com"


class Api:
    def __init__(self, state_path) -> None:
        self.state_path = state_path
        self.faults = Faults()
        self.server = None
        self.start()

    def start(self) -> None:
        self.registry = Registry(self.state_path, invalidation_seconds=0.5)
        self.server = Server(("127.0.0.1", 0), make_handler(self.registry, self.faults))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client = boto3.client(
            "cloudfront",
            endpoint_url=f"http://127.0.0.1:{self.server.server_address[1]}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def create(self, host: str = HOST, name: str = "dom-1", **extra) -> dict:
        return self.client.create_distribution_tenant(
            DistributionId=DISTRIBUTION_ID,
            Name=name,
            Domains=[{"Domain": host}],
            ConnectionGroupId=CONNECTION_GROUP_ID,
            Parameters=[{"Name": "workspace_id", "Value": "ws_acme"}],
            ManagedCertificateRequest={"ValidationTokenHost": "cloudfront"},
            **extra,
        )


@pytest.fixture
def api(tmp_path):
    api = Api(tmp_path / "cloudfront.json")
    yield api
    api.stop()


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_a_created_tenant_is_found_by_id_name_arn_and_domain_with_its_etag(api):
    created = api.create(Tags={"Items": [{"Key": "domain", "Value": "d_1"}]})

    tenant = created["DistributionTenant"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert tenant["Id"].startswith("dt_")
    assert tenant["Domains"] == [{"Domain": HOST, "Status": "inactive"}]  # no certificate yet
    assert tenant["Parameters"] == [{"Name": "workspace_id", "Value": "ws_acme"}]
    assert tenant["Tags"] == {"Items": [{"Key": "domain", "Value": "d_1"}]}
    assert tenant["ConnectionGroupId"] == CONNECTION_GROUP_ID
    assert tenant["Enabled"] is True
    assert isinstance(tenant["CreatedTime"], datetime.datetime)
    for identifier in (tenant["Id"], tenant["Name"], tenant["Arn"]):
        found = api.client.get_distribution_tenant(Identifier=identifier)
        assert (found["DistributionTenant"]["Id"], found["ETag"]) == (tenant["Id"], created["ETag"])
    by_domain = api.client.get_distribution_tenant_by_domain(Domain=HOST)
    assert (by_domain["DistributionTenant"]["Id"], by_domain["ETag"]) == (tenant["Id"], created["ETag"])


def test_its_managed_certificate_waits_for_validation(api):
    tenant = api.create()["DistributionTenant"]

    details = api.client.get_managed_certificate_details(Identifier=tenant["Id"])["ManagedCertificateDetails"]

    assert details["CertificateStatus"] == "pending-validation"
    assert details["ValidationTokenHost"] == "cloudfront"
    assert details["CertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert details["ValidationTokenDetails"] == [{"Domain": HOST}]


def test_an_update_needs_the_latest_etag_and_gives_a_new_one(api):
    created = api.create()
    tenant_id = created["DistributionTenant"]["Id"]
    disabled = api.client.update_distribution_tenant(Id=tenant_id, IfMatch=created["ETag"], Enabled=False)

    with pytest.raises(ClientError) as stale:
        api.client.update_distribution_tenant(Id=tenant_id, IfMatch=created["ETag"], Enabled=True)
    with pytest.raises(ClientError) as missing:
        api.client.update_distribution_tenant(Id=tenant_id, IfMatch="", Enabled=True)

    assert disabled["DistributionTenant"]["Enabled"] is False
    assert disabled["ETag"] != created["ETag"]
    assert code(stale) == "PreconditionFailed"
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert isinstance(stale.value, api.client.exceptions.PreconditionFailed)
    assert code(missing) == "InvalidIfMatchVersion"
    # What was left out of the update is kept.
    after = api.client.get_distribution_tenant(Identifier=tenant_id)
    assert after["ETag"] == disabled["ETag"]
    assert after["DistributionTenant"]["Parameters"] == [{"Name": "workspace_id", "Value": "ws_acme"}]


def test_a_tenant_is_deleted_only_once_disabled_and_with_its_latest_etag(api):
    created = api.create()
    tenant_id = created["DistributionTenant"]["Id"]

    with pytest.raises(api.client.exceptions.ResourceNotDisabled):
        api.client.delete_distribution_tenant(Id=tenant_id, IfMatch=created["ETag"])
    disabled = api.client.update_distribution_tenant(Id=tenant_id, IfMatch=created["ETag"], Enabled=False)
    with pytest.raises(api.client.exceptions.PreconditionFailed):
        api.client.delete_distribution_tenant(Id=tenant_id, IfMatch=created["ETag"])
    deleted = api.client.delete_distribution_tenant(Id=tenant_id, IfMatch=disabled["ETag"])

    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (
        lambda: api.client.get_distribution_tenant(Identifier=tenant_id),
        lambda: api.client.get_distribution_tenant_by_domain(Domain=HOST),
        lambda: api.client.get_managed_certificate_details(Identifier=tenant_id),
    ):
        with pytest.raises(api.client.exceptions.EntityNotFound):
            call()
    # The domain is free again.
    assert api.create(name="dom-2")["DistributionTenant"]["Domains"][0]["Domain"] == HOST


def test_one_domain_belongs_to_one_tenant_and_one_name_to_one_tenant(api):
    api.create()

    with pytest.raises(ClientError) as same_domain:
        api.create(name="dom-2")
    with pytest.raises(ClientError) as same_name:
        api.create(host="other.client-domain.com")

    assert code(same_domain) == "CNAMEAlreadyExists"
    assert same_domain.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert code(same_name) == "EntityAlreadyExists"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"DistributionId": "E999NOTOURS"}, "EntityNotFound"),
        ({"ConnectionGroupId": "cg_unknown"}, "EntityNotFound"),
        ({"ManagedCertificateRequest": {"ValidationTokenHost": "dns"}}, "InvalidArgument"),  # an enum botocore lets by
        ({"Domains": [{"Domain": "not a hostname"}]}, "InvalidArgument"),
        ({"Name": "-bad-"}, "InvalidArgument"),
        (
            {"Customizations": {"Certificate": {"Arn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}}},
            "InvalidArgument",
        ),
    ],
)
def test_it_refuses_what_cloudfront_refuses(api, change, expected):
    request = {
        "DistributionId": DISTRIBUTION_ID,
        "Name": "dom-1",
        "Domains": [{"Domain": HOST}],
        "ConnectionGroupId": CONNECTION_GROUP_ID,
        **change,
    }

    with pytest.raises(ClientError) as refused:
        api.client.create_distribution_tenant(**request)

    assert code(refused) == expected
    assert api.client.list_distribution_tenants()["DistributionTenantList"] == []


def test_unknown_tenants_are_entity_not_found(api):
    for call in (
        lambda: api.client.get_distribution_tenant(Identifier="dt_nobody"),
        lambda: api.client.update_distribution_tenant(Id="dt_nobody", IfMatch="E1", Enabled=False),
        lambda: api.client.delete_distribution_tenant(Id="dt_nobody", IfMatch="E1"),
        lambda: api.client.get_distribution_tenant_by_domain(Domain="nobody.example.org"),
    ):
        with pytest.raises(api.client.exceptions.EntityNotFound) as refused:
            call()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_invalidations_of_a_tenant_complete_and_a_repeated_caller_reference_is_the_same_one(api):
    tenant_id = api.create()["DistributionTenant"]["Id"]
    batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "suspend-d_1-1"}

    created = api.client.create_invalidation_for_distribution_tenant(Id=tenant_id, InvalidationBatch=batch)
    again = api.client.create_invalidation_for_distribution_tenant(Id=tenant_id, InvalidationBatch=batch)
    with pytest.raises(api.client.exceptions.InconsistentQuantities):
        api.client.create_invalidation_for_distribution_tenant(
            Id=tenant_id, InvalidationBatch={"Paths": {"Quantity": 2, "Items": ["/*"]}, "CallerReference": "x"}
        )

    invalidation = created["Invalidation"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["Location"].endswith(f"/distribution-tenant/{tenant_id}/invalidation/{invalidation['Id']}")
    assert invalidation["Status"] == "InProgress"
    assert invalidation["InvalidationBatch"] == batch
    assert again["Invalidation"]["Id"] == invalidation["Id"]
    time.sleep(0.6)
    fetched = api.client.get_invalidation_for_distribution_tenant(DistributionTenantId=tenant_id, Id=invalidation["Id"])
    assert fetched["Invalidation"]["Status"] == "Completed"
    listed = api.client.list_invalidations_for_distribution_tenant(Id=tenant_id)["InvalidationList"]
    assert (listed["Quantity"], listed["IsTruncated"], [i["Id"] for i in listed["Items"]]) == (
        1,
        False,
        [invalidation["Id"]],
    )
    with pytest.raises(api.client.exceptions.NoSuchInvalidation):
        api.client.get_invalidation_for_distribution_tenant(DistributionTenantId=tenant_id, Id="INOPE")


def test_tenants_are_listed_with_their_etags_page_by_page(api):
    etags = [api.create(host=f"h{i}.client-domain.com", name=f"dom-{i}")["ETag"] for i in range(3)]

    first = api.client.list_distribution_tenants(MaxItems=2)
    rest = api.client.list_distribution_tenants(Marker=first["NextMarker"], MaxItems=2)

    listed = first["DistributionTenantList"] + rest["DistributionTenantList"]
    assert [t["ETag"] for t in listed] == etags
    assert "NextMarker" not in rest
    filtered = api.client.list_distribution_tenants(AssociationFilter={"ConnectionGroupId": "cg_other"})
    assert filtered["DistributionTenantList"] == []


def test_injected_throttling_and_outage_answer_as_aws_does_then_clear(api):
    api.faults.set(throttle=1, unavailable=1)

    with pytest.raises(ClientError) as unavailable:
        api.client.list_distribution_tenants()
    with pytest.raises(ClientError) as throttled:
        api.client.list_distribution_tenants()

    assert (code(unavailable), unavailable.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ServiceUnavailable",
        503,
    )
    assert (code(throttled), throttled.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("Throttling", 400)
    assert api.client.list_distribution_tenants()["DistributionTenantList"] == []


def test_the_standard_retry_mode_rides_out_a_throttle(api):
    api.faults.set(throttle=2)
    client = boto3.client(
        "cloudfront",
        endpoint_url=api.client.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )

    response = client.list_distribution_tenants()

    assert response["ResponseMetadata"]["RetryAttempts"] == 2


def test_tenants_and_etags_survive_a_restart(api):
    created = api.create()
    api.stop()

    api.start()

    found = api.client.get_distribution_tenant_by_domain(Domain=HOST)
    assert found["ETag"] == created["ETag"]
    assert found["DistributionTenant"]["Id"] == created["DistributionTenant"]["Id"]
    saved = json.loads(api.state_path.read_text())
    assert list(saved["tenants"]) == [created["DistributionTenant"]["Id"]]
    assert api.state_path.stat().st_mode & 0o077 == 0  # it holds private keys


def test_a_certificate_is_attached_only_once_issued_but_an_attached_one_never_blocks_an_update(api):
    created = api.create()
    tenant_id = created["DistributionTenant"]["Id"]
    arn = api.client.get_managed_certificate_details(Identifier=tenant_id)["ManagedCertificateDetails"][
        "CertificateArn"
    ]

    with pytest.raises(api.client.exceptions.InvalidArgument):  # still pending validation
        api.client.update_distribution_tenant(
            Id=tenant_id, IfMatch=created["ETag"], Customizations={"Certificate": {"Arn": arn}}
        )
    api.registry.set_certificate_status(tenant_id, "issued")
    attached = api.client.update_distribution_tenant(
        Id=tenant_id, IfMatch=created["ETag"], Customizations={"Certificate": {"Arn": arn}}
    )
    api.registry.set_certificate_status(tenant_id, "revoked")
    disabled = api.client.update_distribution_tenant(
        Id=tenant_id, IfMatch=attached["ETag"], Enabled=False, Customizations={"Certificate": {"Arn": arn}}
    )

    assert attached["DistributionTenant"]["Customizations"] == {"Certificate": {"Arn": arn}}
    assert disabled["DistributionTenant"]["Enabled"] is False

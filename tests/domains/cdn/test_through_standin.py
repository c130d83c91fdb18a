"""The portal against the local CloudFront, with the real boto3 client over HTTP: tenants, certificates, HTTPS.

Real processes on loopback: devdns (the tenant's DNS and ours: *.domain.ve.ai →
the edge), pebble (issuing after validating over HTTP through devdns), moto's
DynamoDB with the edge table the portal delivers to, the demo origin, and the
stand-in (edgelocal) serving CloudFront's API, HTTP and HTTPS with SNI.
"""

import time

import pytest
from botocore.exceptions import ClientError
from django.utils import timezone

from domains import services
from domains.cdn import client as cdn_client
from domains.cdn.states import CERTIFICATE_PROBLEM, CertificateStatus
from domains.edge import delivery
from domains.models import CdnTenant, Domain, DomainEvent, DomainStatus
from domains.services import provisioning
from edgelocal.tenants import CONNECTION_GROUP_ID, DISTRIBUTION_ID

pytestmark = pytest.mark.slow

HOST = "gallery.client-domain.com"
TIMEOUT = 30.0


@pytest.fixture
def portal(settings, devdns, edge_table, dynamodb_endpoint):
    """The portal's settings as `make run` gives them, once the stand-in is up."""

    def point_at(standin):
        settings.CLOUDFRONT_ENABLED = True
        settings.CLOUDFRONT_DISTRIBUTION_ID = DISTRIBUTION_ID
        settings.CLOUDFRONT_CONNECTION_GROUP_ID = CONNECTION_GROUP_ID
        settings.CLOUDFRONT_ENDPOINT_URL = standin.api_url
        settings.CLOUDFRONT_MAX_ATTEMPTS = 2
        settings.CLOUDFRONT_POLL_BASE_SECONDS = 0.2
        settings.CLOUDFRONT_POLL_MAX_SECONDS = 1.0
        settings.CLOUDFRONT_RETRY_BASE_SECONDS = 0.2
        cdn_client.reset_client()
        return standin

    yield point_at
    cdn_client.reset_client()


@pytest.fixture
def edge_config(edge_table, dynamodb_endpoint):
    """The edge function reads the table the portal delivers to, host by host, with short caches."""
    return {
        "table_name": edge_table.name,
        "replica_regions": ["us-east-1"],
        "endpoint_url": dynamodb_endpoint,
        "lookup_mode": "host",
        "positive_ttl_seconds": 0.5,
        "negative_ttl_seconds": 0.5,
        "pass_through_suffixes": ["ve.ai"],
        "read_timeout_seconds": 5.0,
    }


@pytest.fixture
def platform_zone(devdns):
    """As make run (and, on AWS, the wildcard CNAME to the connection group): every target leads to the edge."""
    devdns.add("*.domain.ve.ai", "A", "127.0.0.1")
    return devdns


@pytest.fixture
def domain(alice, acme):
    return services.domain_create(user=alice, workspace=acme, hostname=HOST)


def refreshed(domain: Domain) -> Domain:
    return Domain.objects.get(pk=domain.pk)


def work_until(done, timeout: float = TIMEOUT):
    """What the worker and beat do, as fast as the stand-in allows: deliver to the edge, step every due tenant."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.edge_sweep(grace_seconds=0)
        CdnTenant.objects.filter(next_attempt_at__gt=timezone.now()).update(next_attempt_at=timezone.now())
        provisioning.cdn_sweep()
        if result := done():
            return result
        time.sleep(0.2)
    tenant = CdnTenant.objects.first()
    pytest.fail(f"not done within {timeout:g} s; tenant: {tenant and vars(tenant)}")


def prove(devdns, domain: Domain) -> Domain:
    devdns.add(HOST, "CNAME", domain.target)
    services.domain_check(domain=refreshed(domain))
    return refreshed(domain)


def test_record_to_https_create_pending_validation_issued_attached_active(
    cloudfront_standin, portal, platform_zone, edge_config, domain, acme
):
    standin = portal(cloudfront_standin(edge_config=edge_config))
    started = time.monotonic()

    assert prove(platform_zone, domain).status == DomainStatus.PROVISIONING
    provisioning.cdn_sweep()
    tenant = CdnTenant.objects.get()
    seen_pending = tenant.certificate_status == CertificateStatus.PENDING_VALIDATION
    work_until(lambda: refreshed(domain).status == DomainStatus.ACTIVE)
    took = time.monotonic() - started

    tenant.refresh_from_db()
    assert seen_pending
    assert (tenant.certificate_status, tenant.certificate_attached, tenant.enabled) == ("issued", True, True)
    live = standin.client().get_distribution_tenant(Identifier=tenant.tenant_id)["DistributionTenant"]
    assert live["Customizations"]["Certificate"]["Arn"] == tenant.certificate_arn
    assert live["Parameters"] == [{"Name": "workspace_id", "Value": acme.public_id}]
    response = standin.get("https", HOST, "/photos/1")
    assert response.status == 200 and response.json()["workspace_id"] == acme.public_id
    print(f"DNS proof → active over HTTPS through the stand-in: {took:.2f} s")


def test_suspended_the_tenant_is_disabled_and_the_edge_answers_403_then_delete_removes_it(
    cloudfront_standin, portal, platform_zone, edge_config, domain, support, alice
):
    standin = portal(cloudfront_standin(edge_config=edge_config))
    prove(platform_zone, domain)
    work_until(lambda: refreshed(domain).status == DomainStatus.ACTIVE)
    tenant_id = CdnTenant.objects.get().tenant_id

    services.domain_suspend(staff_user=support, domain=refreshed(domain), reason="phishing report")
    work_until(lambda: CdnTenant.objects.get().next_attempt_at is None)

    client = standin.client()
    assert client.get_distribution_tenant(Identifier=tenant_id)["DistributionTenant"]["Enabled"] is False
    assert standin.get("http", HOST).status == 403
    assert standin.get("https", HOST, verify=False).status == 403
    invalidations = client.list_invalidations_for_distribution_tenant(Id=tenant_id)["InvalidationList"]
    assert invalidations["Quantity"] == 1  # its cached pages are dropped too

    services.domain_delete(user=alice, domain=refreshed(domain))
    work_until(lambda: CdnTenant.objects.get().deleted_at is not None)

    with pytest.raises(ClientError) as gone:
        client.get_distribution_tenant(Identifier=tenant_id)
    assert gone.value.response["Error"]["Code"] == "EntityNotFound"


def test_a_validation_that_never_succeeds_fails_the_domain_with_its_reason(
    cloudfront_standin, portal, devdns, edge_config, domain
):
    # No platform zone: the hostname's CNAME proves DNS control, but its target leads nowhere,
    # so CloudFront (the stand-in) can never validate it.
    portal(cloudfront_standin(edge_config=edge_config, validation_timeout=3))
    prove(devdns, domain)

    work_until(lambda: refreshed(domain).status == DomainStatus.FAILED)

    reason = DomainEvent.objects.filter(domain=domain).first().reason
    assert reason == CERTIFICATE_PROBLEM[CertificateStatus.VALIDATION_TIMED_OUT]


def test_cloudfront_throttled_and_down_mid_provisioning_still_ends_active_with_one_tenant(
    cloudfront_standin, portal, platform_zone, edge_config, domain
):
    standin = portal(cloudfront_standin(edge_config=edge_config))
    prove(platform_zone, domain)
    standin.control("/edgelocal/faults", {"throttle": 3, "unavailable": 2})

    provisioning.cdn_sweep()
    assert CdnTenant.objects.get().attempts == 1

    work_until(lambda: refreshed(domain).status == DomainStatus.ACTIVE)
    assert len(standin.control("/edgelocal/state")["tenants"]) == 1

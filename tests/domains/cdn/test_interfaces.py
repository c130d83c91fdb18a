"""What people see of HTTPS: DNS record found → certificate issued → live over HTTPS, in the page, the API and the admin."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone
from rest_framework.test import APIClient

from domains import services
from domains.cdn.states import CERTIFICATE_PROBLEM, CertificateStatus
from domains.models import CdnTenant, DomainStatus
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

HOST = "gallery.client-domain.com"
ARN = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"


@pytest.fixture
def provisioning(acme, cloudfront_settings):
    """A domain whose DNS was just proven: its tenant is on the way."""
    domain = DomainFactory(workspace=acme, hostname=HOST, verified_at=timezone.now())
    return services.domain_transition(
        domain=domain, to_status=DomainStatus.PROVISIONING, actor=services.SYSTEM, reason="proven"
    )


def tenant_says(**fields) -> None:
    """CloudFront's answers as the steps recorded them."""
    CdnTenant.objects.update(**fields)


@pytest.fixture
def live(provisioning):
    tenant_says(
        tenant_id="dt_123",
        enabled=True,
        certificate_status=CertificateStatus.ISSUED,
        certificate_arn=ARN,
        certificate_attached=True,
        certificate_issued_at=timezone.now(),
    )
    return services.domain_transition(
        domain=provisioning, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="live"
    )


def api_domain(user, domain) -> dict:
    client = APIClient()
    client.force_login(user)
    response = client.get(f"/api/v1/domains/{domain.pk}/")
    assert response.status_code == 200
    return response.json()


def steps(body: dict) -> list[tuple[str, str]]:
    return [(step["name"], step["state"]) for step in body["certificate"]["steps"]]


class TestApi:
    def test_a_provisioning_domain_shows_dns_found_and_the_certificate_under_way(self, alice, provisioning):
        tenant_says(tenant_id="dt_123", certificate_status=CertificateStatus.PENDING_VALIDATION)

        body = api_domain(alice, provisioning)

        assert body["status"] == "provisioning"
        assert steps(body) == [("dns", "done"), ("certificate", "current"), ("https", "todo")]
        assert body["certificate"]["status"] == "pending-validation"
        assert body["certificate"]["https_url"] is None
        assert [step["label"] for step in body["certificate"]["steps"]] == [
            "DNS record found",
            "Certificate issued",
            "Live over HTTPS",
        ]

    def test_a_live_domain_has_its_https_url_and_when_its_certificate_was_issued(self, alice, live):
        body = api_domain(alice, live)

        assert steps(body) == [("dns", "done"), ("certificate", "done"), ("https", "done")]
        assert body["certificate"]["https_url"] == f"https://{HOST}/"
        assert body["certificate"]["status"] == "issued" and body["certificate"]["issued_at"]

    def test_a_domain_whose_certificate_could_not_be_issued_says_why(self, alice, provisioning):
        problem = CERTIFICATE_PROBLEM[CertificateStatus.VALIDATION_TIMED_OUT]
        tenant_says(tenant_id="dt_123", certificate_status=CertificateStatus.VALIDATION_TIMED_OUT, problem=problem)
        failed = services.domain_transition(
            domain=provisioning, to_status=DomainStatus.FAILED, actor=services.SYSTEM, reason=problem
        )

        body = api_domain(alice, failed)

        assert steps(body) == [("dns", "done"), ("certificate", "failed"), ("https", "todo")]
        assert body["certificate"]["problem"] == problem

    def test_the_list_carries_the_certificate_too(self, alice, live):
        client = APIClient()
        client.force_login(alice)

        [row] = client.get("/api/v1/domains/").json()["results"]

        assert row["certificate"]["https_url"] == f"https://{HOST}/"

    def test_without_cloudfront_the_certificate_is_null(self, alice, acme, settings):
        settings.CLOUDFRONT_ENABLED = False
        domain = DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.ACTIVE)

        assert api_domain(alice, domain)["certificate"] is None

    def test_the_schema_documents_the_certificate_and_its_statuses(self, db):
        schema = APIClient().get("/api/schema/", {"format": "json"}).json()
        components = schema["components"]["schemas"]

        certificate = components["Certificate"]["properties"]
        assert set(certificate) == {"status", "issued_at", "https_url", "problem", "steps"}
        assert certificate["status"]["oneOf"][0]["$ref"].endswith("/CertificateStatusEnum")
        assert set(components["CertificateStatusEnum"]["enum"]) == set(CertificateStatus.values)
        assert "certificate" in components["Domain"]["properties"]
        assert "provisioning" in components["DomainStatusEnum"]["enum"]


class TestPage:
    def test_the_page_shows_the_three_steps_and_polls_while_provisioning(self, client, alice, provisioning):
        tenant_says(tenant_id="dt_123", certificate_status=CertificateStatus.PENDING_VALIDATION)
        client.force_login(alice)

        page = client.get(f"/domains/{provisioning.pk}/").content.decode()

        assert "Setting up HTTPS" in page
        for label in ("DNS record found", "Certificate issued", "Live over HTTPS"):
            assert label in page
        assert 'class="step step-current" data-step="certificate" aria-current="step"' in page
        assert 'data-poll="true"' in page

    def test_a_live_domain_links_its_https_address(self, client, alice, live):
        client.force_login(alice)

        page = client.get(f"/domains/{live.pk}/").content.decode()

        assert f'href="https://{HOST}/"' in page
        assert 'class="step step-done" data-step="https"' in page

    def test_the_live_status_block_changes_signature_when_the_certificate_is_issued(self, client, alice, provisioning):
        client.force_login(alice)
        url = f"/domains/{provisioning.pk}/status/"
        before = client.get(url).json()["signature"]

        tenant_says(certificate_status=CertificateStatus.ISSUED, certificate_issued_at=timezone.now())

        after = client.get(url).json()
        assert after["signature"] != before and after["poll"] is True
        assert "Issued" in after["status_html"]

    def test_without_cloudfront_no_steps_are_shown(self, client, alice, acme):
        domain = DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.ACTIVE)
        client.force_login(alice)

        assert "Certificate issued" not in client.get(f"/domains/{domain.pk}/").content.decode()


class TestAdmin:
    def test_the_domain_page_shows_the_tenant_and_its_certificate(self, client, support, live):
        client.force_login(support)

        page = client.get(f"/admin/domains/domain/{live.pk}/change/").content.decode()

        assert "dt_123" in page and ARN in page and "Issued" in page
        assert "Issued" in client.get("/admin/domains/domain/").content.decode()

    def test_re_provision_is_an_action_through_the_staff_service(self, client, support, live):
        client.force_login(support)

        client.post(
            "/admin/domains/domain/",
            {"action": "reprovision", ACTION_CHECKBOX_NAME: [str(live.pk)]},
            follow=True,
        )

        live.refresh_from_db()
        assert live.status == DomainStatus.PROVISIONING
        assert live.events.first().actor_user == support

    def test_the_tenants_are_listed_with_their_goal_and_errors(self, client, support, live):
        tenant_says(last_error="CdnUnavailable: Throttling: Rate exceeded", attempts=2)
        client.force_login(support)

        page = client.get("/admin/domains/cdntenant/").content.decode()

        assert HOST in page and "Rate exceeded" in page and "dt_123" in page

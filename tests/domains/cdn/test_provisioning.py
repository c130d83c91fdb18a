"""HTTPS through CloudFront, as a domain lives it: DNS record found → certificate issued → live over HTTPS.

CloudFront is a fake behind the real boto3 client (tests/domains/cdn/fake.py):
botocore validates every request against its service model and every answer
against the output shape. DNS is the loopback devdns, the edge table a real
(moto) DynamoDB endpoint, so "the edge item is delivered" means it is there.
"""

from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from domains import services
from domains.cdn.states import CERTIFICATE_PROBLEM, CertificateStatus, TenantGoal
from domains.edge import delivery
from domains.errors import InvalidTransition, NotAllowed
from domains.models import CdnTenant, Domain, DomainEvent, DomainStatus
from domains.services import provisioning
from domains.services.provisioning import LIVE_REASON, VALID_AGAIN_REASON
from notifications.models import Event
from notifications.tasks import email_event
from tests.domains.cdn.fake import WorkerKilled
from tests.factories import DomainFactory
from tests.notifications import conftest as notifications_fixtures

pytestmark = pytest.mark.postgres

smtp_server = notifications_fixtures.smtp_server  # the real SMTP server on loopback, for the e-mail a step causes

HOST = "gallery.client-domain.com"


@pytest.fixture
def domain(alice, acme, cloudfront):
    return services.domain_create(user=alice, workspace=acme, hostname=HOST)


@contextmanager
def later(seconds: float):
    """The clock `seconds` ahead (and standing still) for what the block does."""
    with time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False):
        yield


def refreshed(domain: Domain) -> Domain:
    return Domain.objects.select_related("workspace").get(pk=domain.pk)


def row() -> CdnTenant:
    return CdnTenant.objects.get()


def prove(devdns, domain: Domain) -> Domain:
    """The tenant publishes the record and the check finds it."""
    devdns.add(HOST, "CNAME", domain.target)
    services.domain_check(domain=refreshed(domain))
    return refreshed(domain)


def step() -> int:
    """Every row that is due, stepped once (as beat's sweep does)."""
    return provisioning.cdn_sweep()


def step_when_due() -> None:
    """Travel to the row's next attempt and step it."""
    due = row().next_attempt_at
    with time_machine.travel(max(due, timezone.now()), tick=False):
        assert step() == 1


def edge_delivered() -> None:
    delivery.edge_sweep(grace_seconds=0)


@pytest.fixture
def provisioning_domain(devdns, domain, edge_table):
    return prove(devdns, domain)


@pytest.fixture
def live(provisioning_domain, cloudfront):
    """A domain live over HTTPS: tenant created, certificate issued and attached, edge delivered."""
    step()
    cloudfront.set_certificate(HOST, "issued")
    edge_delivered()
    step_when_due()
    domain = refreshed(provisioning_domain)
    assert domain.status == DomainStatus.ACTIVE
    return domain


class TestDnsProof:
    def test_proof_makes_the_domain_provisioning_served_over_http_with_a_tenant_to_create(
        self, provisioning_domain, cloudfront
    ):
        domain = provisioning_domain
        assert domain.status == DomainStatus.PROVISIONING
        assert domain.is_servable and domain.holds_hostname  # HTTP works, so CloudFront can validate
        assert domain.next_check_at is None  # the certificate is polled instead of DNS
        tenant = row()
        assert (tenant.domain, tenant.goal, tenant.name) == (domain, TenantGoal.ENABLED, f"ve-{domain.pk.hex}")
        assert tenant.next_attempt_at <= timezone.now()
        assert cloudfront.calls == []  # nothing is asked inside the check's transaction

    def test_with_cloudfront_off_proof_makes_the_domain_active_at_once(self, devdns, domain, settings):
        settings.CLOUDFRONT_ENABLED = False

        assert prove(devdns, domain).status == DomainStatus.ACTIVE
        assert not CdnTenant.objects.exists()

    def test_the_first_to_prove_wins_while_provisioning_too(self, devdns, domain, charlie, charlie_studio):
        rival = services.domain_create(user=charlie, workspace=charlie_studio, hostname=HOST)

        prove(devdns, domain)

        assert refreshed(rival).status == DomainStatus.FAILED
        assert services.OTHER_PROVED_MESSAGE in DomainEvent.objects.filter(domain=rival).first().reason


class TestProvisioning:
    def test_one_tenant_is_created_for_the_hostname_in_our_distribution_with_a_managed_certificate(
        self, provisioning_domain, cloudfront, acme
    ):
        step()

        [created] = cloudfront.params("CreateDistributionTenant")
        assert created["Domains"] == [{"Domain": HOST}]
        assert created["Parameters"] == [{"Name": "workspace_id", "Value": acme.public_id}]
        assert created["ManagedCertificateRequest"] == {"ValidationTokenHost": "cloudfront"}
        assert (created["DistributionId"], created["ConnectionGroupId"]) == (
            "E1MULTITENANT",
            "cg_2wjDWTBKTlRB87cAaUQFaakCpH",
        )
        tenant = row()
        assert tenant.tenant_id == cloudfront.tenant_for(HOST)["Id"]
        assert (tenant.enabled, tenant.certificate_status) == (True, CertificateStatus.PENDING_VALIDATION)
        assert refreshed(provisioning_domain).status == DomainStatus.PROVISIONING

    def test_a_pending_certificate_is_polled_with_back_off(self, provisioning_domain, cloudfront, settings):
        settings.CLOUDFRONT_POLL_BASE_SECONDS = 5
        settings.CLOUDFRONT_POLL_MAX_SECONDS = 60
        step()
        gaps = []
        for _ in range(6):
            before = row().next_attempt_at
            step_when_due()
            gaps.append(round((row().next_attempt_at - before).total_seconds()))

        assert gaps == [10, 20, 40, 60, 60, 60]
        assert len(cloudfront.params("CreateDistributionTenant")) == 1

    def test_an_issued_certificate_is_attached_and_the_domain_is_active_once_the_edge_has_its_item(
        self, provisioning_domain, cloudfront, edge_table
    ):
        step()
        cloudfront.set_certificate(HOST, "issued")

        step_when_due()  # attached, but the edge item is not delivered yet
        tenant = row()
        assert tenant.certificate_attached and tenant.certificate_issued_at is not None
        assert cloudfront.tenant_for(HOST)["Customizations"]["Certificate"]["Arn"] == tenant.certificate_arn
        assert refreshed(provisioning_domain).status == DomainStatus.PROVISIONING

        edge_delivered()
        step_when_due()

        domain = refreshed(provisioning_domain)
        assert domain.status == DomainStatus.ACTIVE
        assert edge_table.item(HOST)["state"] == "serve"
        event = DomainEvent.objects.filter(domain=domain).first()
        assert (event.from_status, event.to_status, event.reason) == ("provisioning", "active", LIVE_REASON)
        assert timedelta(hours=5) < domain.next_check_at - timezone.now() < timedelta(hours=7)  # DNS re-checks resume
        assert timedelta(hours=22) < row().next_attempt_at - timezone.now() < timedelta(hours=26)  # certificate watched

    def test_an_etag_race_while_attaching_reads_the_tenant_again_and_attaches(self, provisioning_domain, cloudfront):
        step()
        cloudfront.set_certificate(HOST, "issued")
        cloudfront.touch(HOST)  # someone changed the tenant since we read it... at the moment we update
        cloudfront.fail("UpdateDistributionTenant", "PreconditionFailed", 412)

        step_when_due()

        assert row().certificate_attached
        operations = cloudfront.operations()
        assert operations[-2:] == ["GetDistributionTenant", "UpdateDistributionTenant"]

    def test_a_certificate_that_cannot_be_validated_fails_the_domain_in_plain_words_and_the_tenant_goes(
        self, provisioning_domain, cloudfront
    ):
        step()
        cloudfront.set_certificate(HOST, "validation-timed-out")

        step_when_due()

        domain = refreshed(provisioning_domain)
        assert domain.status == DomainStatus.FAILED
        reason = DomainEvent.objects.filter(domain=domain).first().reason
        assert reason == CERTIFICATE_PROBLEM[CertificateStatus.VALIDATION_TIMED_OUT]
        assert "Retry" in reason and "timed-out" not in reason
        assert not domain.is_servable
        assert row().goal == TenantGoal.DELETED

        step_when_due()  # disabled, then deleted

        assert cloudfront.tenants == {}
        assert row().deleted_at is not None and row().next_attempt_at is None

    def test_retry_after_a_failure_starts_over_with_a_new_tenant(self, devdns, provisioning_domain, cloudfront, alice):
        step()
        cloudfront.set_certificate(HOST, "failed")
        step_when_due()
        step_when_due()
        assert cloudfront.tenants == {}

        services.domain_retry(user=alice, domain=refreshed(provisioning_domain))
        assert prove(devdns, provisioning_domain).status == DomainStatus.PROVISIONING
        step()

        tenant = cloudfront.tenant_for(HOST)
        assert tenant["Name"] == f"ve-{provisioning_domain.pk.hex}-2"
        assert cloudfront.certificate_for(HOST)["status"] == "pending-validation"
        assert (row().tenant_id, row().generation) == (tenant["Id"], 2)

    def test_retry_before_the_old_tenant_was_deleted_keeps_it_and_requests_a_new_certificate(
        self, devdns, provisioning_domain, cloudfront, alice
    ):
        step()
        first = cloudfront.certificate_for(HOST)["arn"]
        cloudfront.set_certificate(HOST, "validation-timed-out")
        step_when_due()  # failed; its tenant not removed yet
        services.domain_retry(user=alice, domain=refreshed(provisioning_domain))
        prove(devdns, provisioning_domain)

        step()

        assert len(cloudfront.tenants) == 1
        assert cloudfront.params("UpdateDistributionTenant")[-1]["ManagedCertificateRequest"] == {
            "ValidationTokenHost": "cloudfront"
        }
        certificate = cloudfront.certificate_for(HOST)
        assert certificate["arn"] != first and certificate["status"] == "pending-validation"

    def test_no_certificate_within_the_give_up_fails_the_domain(self, provisioning_domain, cloudfront, settings):
        step()
        with later(settings.CLOUDFRONT_PROVISIONING_GIVE_UP + 1):
            step()

        domain = refreshed(provisioning_domain)
        assert domain.status == DomainStatus.FAILED
        assert "HTTPS could not be set up within 4 days" in DomainEvent.objects.filter(domain=domain).first().reason


class TestFaults:
    def test_the_worker_killed_between_create_and_attach_resumes_with_exactly_one_tenant(
        self, provisioning_domain, cloudfront, settings
    ):
        cloudfront.kill_after = {"CreateDistributionTenant"}
        with pytest.raises(WorkerKilled):
            step()
        assert row().tenant_id == "" and len(cloudfront.tenants) == 1
        cloudfront.kill_after = set()
        assert step() == 0  # its claim holds until the lease runs out

        with later(settings.CLOUDFRONT_STEP_LEASE + 1):
            assert step() == 1
            cloudfront.set_certificate(HOST, "issued")
            edge_delivered()
        step_when_due()

        assert refreshed(provisioning_domain).status == DomainStatus.ACTIVE
        assert len(cloudfront.tenants) == 1
        assert len(cloudfront.params("CreateDistributionTenant")) == 1
        assert row().tenant_id == cloudfront.tenant_for(HOST)["Id"]

    def test_cloudfront_down_mid_provisioning_delays_and_then_goes_on(self, provisioning_domain, cloudfront):
        step()
        cloudfront.down = True

        step_when_due()
        step_when_due()

        tenant = row()
        assert tenant.attempts == 2 and "EndpointConnectionError" in tenant.last_error
        assert refreshed(provisioning_domain).status == DomainStatus.PROVISIONING

        cloudfront.down = False
        cloudfront.set_certificate(HOST, "issued")
        edge_delivered()
        step_when_due()

        assert refreshed(provisioning_domain).status == DomainStatus.ACTIVE
        assert (row().attempts, row().last_error) == (0, "")

    def test_throttling_mid_provisioning_backs_off_and_ends_with_one_tenant(
        self, provisioning_domain, cloudfront, settings
    ):
        settings.CLOUDFRONT_RETRY_BASE_SECONDS = 10
        cloudfront.fail(None, "Throttling", 400, times=3)

        step()
        first = row().next_attempt_at - timezone.now()
        step_when_due()
        step_when_due()
        assert row().attempts == 3
        assert timedelta(seconds=7) < first < timedelta(seconds=13)
        step_when_due()
        cloudfront.set_certificate(HOST, "issued")
        edge_delivered()
        step_when_due()

        assert refreshed(provisioning_domain).status == DomainStatus.ACTIVE
        assert len(cloudfront.tenants) == 1

    def test_a_goal_that_changes_while_cloudfront_is_asked_sends_the_row_round_again(
        self, provisioning_domain, cloudfront, support
    ):
        step()
        cloudfront.set_certificate(HOST, "issued")
        domain = refreshed(provisioning_domain)

        def suspended_meanwhile(**kwargs):
            services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")

        cloudfront.client.meta.events.register_first(
            "before-parameter-build.cloudfront.GetManagedCertificateDetails", suspended_meanwhile
        )
        step_when_due()
        cloudfront.client.meta.events.unregister(
            "before-parameter-build.cloudfront.GetManagedCertificateDetails", suspended_meanwhile
        )

        assert refreshed(domain).status == DomainStatus.SUSPENDED  # not made active by the step's old goal
        assert row().goal == TenantGoal.DISABLED
        step_when_due()  # at once: the goal changed
        assert cloudfront.tenant_for(HOST)["Enabled"] is False

    def test_a_hostname_another_tenant_serves_is_reported_and_not_taken(self, provisioning_domain, cloudfront):
        cloudfront._CreateDistributionTenant(
            Name="someone-else", Domains=[{"Domain": HOST}], DistributionId="E1OTHER", Enabled=True
        )

        step()

        assert "HostnameInAnotherTenant" in row().last_error or "does not manage" in row().last_error
        assert cloudfront.tenant_for(HOST)["Name"] == "someone-else"
        assert refreshed(provisioning_domain).status == DomainStatus.PROVISIONING

    def test_giving_up_on_a_hostname_another_tenant_serves_tells_the_tenant_without_cloudfronts_internals(
        self, provisioning_domain, cloudfront, settings
    ):
        cloudfront._CreateDistributionTenant(
            Name="someone-else", Domains=[{"Domain": HOST}], DistributionId="E1OTHER", Enabled=True
        )
        step()
        with later(settings.CLOUDFRONT_PROVISIONING_GIVE_UP + 1):
            step()

        domain = refreshed(provisioning_domain)
        reason = DomainEvent.objects.filter(domain=domain).first().reason
        assert domain.status == DomainStatus.FAILED
        assert "another CloudFront distribution already serves this hostname" in reason
        tenant_id = cloudfront.tenant_for(HOST)["Id"]
        assert tenant_id not in reason and "someone-else" not in reason and "HostnameElsewhere" not in reason


class TestAfterwards:
    def test_suspension_disables_the_tenant_and_invalidates_its_cache_once(self, live, cloudfront, support):
        services.domain_suspend(staff_user=support, domain=live, reason="phishing report")

        step()
        step()

        assert cloudfront.tenant_for(HOST)["Enabled"] is False
        [invalidation] = cloudfront.params("CreateInvalidationForDistributionTenant")
        assert invalidation["InvalidationBatch"]["Paths"] == {"Quantity": 1, "Items": ["/*"]}
        assert row().next_attempt_at is None and not row().invalidate

    def test_unsuspend_and_proof_enable_the_same_tenant_again_and_the_domain_is_live(
        self, devdns, live, cloudfront, support
    ):
        services.domain_suspend(staff_user=support, domain=live, reason="phishing report")
        step()
        services.domain_unsuspend(staff_user=support, domain=refreshed(live))
        assert cloudfront.tenant_for(HOST)["Enabled"] is False  # pending: nothing is served before proof

        prove(devdns, live)
        edge_delivered()
        step()

        assert cloudfront.tenant_for(HOST)["Enabled"] is True
        assert len(cloudfront.params("CreateDistributionTenant")) == 1
        assert refreshed(live).status == DomainStatus.ACTIVE

    def test_deletion_disables_then_deletes_the_tenant(self, live, cloudfront, alice):
        services.domain_delete(user=alice, domain=live)

        step()

        assert cloudfront.tenants == {}
        updates = cloudfront.params("UpdateDistributionTenant")
        assert updates[-1]["Enabled"] is False
        assert cloudfront.operations()[-1] == "DeleteDistributionTenant"
        tenant = row()
        assert tenant.domain is None and tenant.deleted_at is not None

    def test_a_delete_refused_while_the_disabling_deploys_is_tried_again_later(self, live, cloudfront, alice):
        services.domain_delete(user=alice, domain=live)
        cloudfront.fail("DeleteDistributionTenant", "ResourceNotDisabled", 409)

        step()
        assert len(cloudfront.tenants) == 1 and row().attempts == 1

        step_when_due()
        assert cloudfront.tenants == {}

    def test_failed_re_verification_past_the_grace_removes_the_tenant(self, devdns, live, cloudfront, settings):
        devdns.remove(HOST)
        services.domain_check(domain=live)
        assert refreshed(live).status == DomainStatus.MISCONFIGURED

        with later(settings.DOMAIN_GRACE_PERIOD + 1):
            services.domain_check(domain=refreshed(live))
            assert refreshed(live).status == DomainStatus.FAILED
            step()

        assert cloudfront.tenants == {}

    def test_an_expired_certificate_makes_the_domain_misconfigured_and_a_new_one_brings_it_back(
        self, devdns, live, cloudfront
    ):
        cloudfront.set_certificate(HOST, "expired")

        step_when_due()

        domain = refreshed(live)
        assert domain.status == DomainStatus.MISCONFIGURED and domain.is_servable
        assert DomainEvent.objects.filter(domain=domain).first().reason == CERTIFICATE_PROBLEM["expired"]
        assert domain.grace_until is not None

        step_when_due()  # a new certificate is requested at once
        assert cloudfront.params("UpdateDistributionTenant")[-1].get("ManagedCertificateRequest")
        services.domain_check(domain=domain)  # DNS is fine, yet the certificate is not: still misconfigured
        assert refreshed(live).status == DomainStatus.MISCONFIGURED

        cloudfront.set_certificate(HOST, "issued")
        step_when_due()

        domain = refreshed(live)
        assert domain.status == DomainStatus.ACTIVE and domain.grace_until is None
        assert DomainEvent.objects.filter(domain=domain).first().reason == VALID_AGAIN_REASON
        assert row().problem == ""

    def test_a_certificate_problem_past_the_grace_fails_the_domain_even_with_dns_right(
        self, devdns, live, cloudfront, settings
    ):
        cloudfront.set_certificate(HOST, "revoked")
        step_when_due()
        cloudfront.fail("UpdateDistributionTenant", "AccessDenied", 403, times=100)

        with time_machine.travel(refreshed(live).grace_until + timedelta(seconds=1), tick=False):
            services.domain_check(domain=refreshed(live))

        domain = refreshed(live)
        assert domain.status == DomainStatus.FAILED
        assert DomainEvent.objects.filter(domain=domain).first().reason.startswith("Grace period over: ")


class TestReprovision:
    def test_support_re_provisions_a_live_domain_and_it_is_live_again(self, live, cloudfront, support):
        services.domain_reprovision(staff_user=support, domain=live)
        assert refreshed(live).status == DomainStatus.PROVISIONING

        step()

        assert refreshed(live).status == DomainStatus.ACTIVE
        assert len(cloudfront.params("CreateDistributionTenant")) == 1
        events = [(e.actor_kind, e.to_status) for e in DomainEvent.objects.filter(domain=live).order_by("-id")[:2]]
        assert events == [("system", "active"), ("staff", "provisioning")]

    def test_a_tenant_deleted_by_hand_at_cloudfront_is_made_again(self, live, cloudfront, support):
        tenant_id = cloudfront.tenant_for(HOST)["Id"]
        del cloudfront.tenants[tenant_id]

        services.domain_reprovision(staff_user=support, domain=live)
        step()

        assert cloudfront.tenant_for(HOST)["Id"] != tenant_id

    def test_only_support_staff_re_provision(self, live, alice, staff_without_permission):
        for user in (alice, staff_without_permission):
            with pytest.raises(NotAllowed):
                services.domain_reprovision(staff_user=user, domain=live)

    def test_a_pending_domain_cannot_be_re_provisioned(self, domain, support):
        with pytest.raises(InvalidTransition):
            services.domain_reprovision(staff_user=support, domain=domain)


class TestTurningCloudFrontOnUnderExistingDomains:
    def test_domains_proven_without_it_get_a_tenant_and_are_live_over_https_again(
        self, acme, cloudfront, edge_table, settings
    ):
        from django.core.management import call_command

        settings.CLOUDFRONT_ENABLED = False
        live = services.domain_transition(
            domain=DomainFactory(workspace=acme, hostname=HOST, last_check_outcome="verified"),
            to_status=DomainStatus.ACTIVE,
            actor=services.SYSTEM,
            reason="proven before CloudFront",
        )
        broken = DomainFactory(
            workspace=acme, hostname="old.client-domain.com", status="misconfigured", last_check_outcome="missing"
        )
        settings.CLOUDFRONT_ENABLED = True

        call_command("provision_https", "--dry-run")
        assert not CdnTenant.objects.exists()
        call_command("provision_https")

        assert refreshed(live).status == DomainStatus.PROVISIONING and refreshed(broken).status == "misconfigured"
        step()
        cloudfront.set_certificate(HOST, "issued")
        edge_delivered()
        step_when_due()
        assert refreshed(live).status == DomainStatus.ACTIVE
        assert list(CdnTenant.objects.values_list("hostname", flat=True)) == [HOST]


@pytest.fixture
def announced():
    """The notification events written since the last look, by type (one step's events share a timestamp)."""

    class Announced:
        def __init__(self):
            self.seen = set(Event.objects.values_list("pk", flat=True))

        def new(self) -> dict[str, Event]:
            fresh = list(Event.objects.exclude(pk__in=self.seen))
            self.seen |= {event.pk for event in fresh}
            assert len({event.type for event in fresh}) == len(fresh), "one event per type and step"
            return {event.type: event for event in fresh}

    return Announced()


def mailed(smtp_server, events: dict[str, Event]) -> list:
    """Run the e-mail task for each event (as the worker does after commit); the messages that arrived."""
    for event in events.values():
        email_event(str(event.pk))
    return [message for _, message in smtp_server.messages]


class TestCertificateEvents:
    def test_provisioning_announces_the_certificate_requested_then_issued_once_each_and_polls_nothing(
        self, provisioning_domain, cloudfront, announced
    ):
        announced.new()

        step()
        requested = announced.new()
        assert list(requested) == ["domain.certificate.pending_validation"]
        data = requested["domain.certificate.pending_validation"].payload["data"]
        assert (data["status"], data["previous_status"]) == ("provisioning", "provisioning")
        assert data["certificate"]["status"] == "pending-validation"

        step_when_due()
        step_when_due()
        assert announced.new() == {}  # polls that see the same state announce nothing

        cloudfront.set_certificate(HOST, "issued")
        step_when_due()  # issued and attached, the edge item not yet delivered: still provisioning
        issued = announced.new()
        assert list(issued) == ["domain.certificate.issued"]
        assert issued["domain.certificate.issued"].payload["data"]["certificate"]["status"] == "issued"
        assert refreshed(provisioning_domain).status == DomainStatus.PROVISIONING

        edge_delivered()
        step_when_due()
        assert list(announced.new()) == ["domain.active"]
        step_when_due()
        assert announced.new() == {}

    def test_a_certificate_that_cannot_be_issued_is_announced_beside_failed_and_mailed_once(
        self, provisioning_domain, cloudfront, announced, smtp_server
    ):
        step()
        announced.new()
        cloudfront.set_certificate(HOST, "validation-timed-out")

        step_when_due()

        events = announced.new()
        assert set(events) == {"domain.failed", "domain.certificate.validation_timed_out"}
        (message,) = mailed(smtp_server, events)  # the failed e-mail says why and what to do
        assert message["Subject"] == f"{HOST} could not be connected"
        assert CERTIFICATE_PROBLEM["validation-timed-out"].rstrip(".") in message.get_body(("plain",)).get_content()

    def test_an_expiry_under_a_live_domain_is_announced_beside_misconfigured_and_mailed_once(
        self, live, cloudfront, announced, smtp_server
    ):
        announced.new()
        cloudfront.set_certificate(HOST, "expired")

        step_when_due()

        events = announced.new()
        assert set(events) == {"domain.misconfigured", "domain.certificate.expired"}
        data = events["domain.certificate.expired"].payload["data"]
        assert (data["status"], data["previous_status"]) == ("misconfigured", "active")
        assert data["certificate"]["problem"] == CERTIFICATE_PROBLEM["expired"]
        (message,) = mailed(smtp_server, events)  # the misconfigured e-mail already tells the problem
        assert message["Subject"] == f"{HOST} needs attention: its DNS or certificate is no longer right"

        step_when_due()  # a new certificate is requested
        assert list(announced.new()) == ["domain.certificate.pending_validation"]
        step_when_due()
        assert announced.new() == {}

    def test_a_certificate_problem_on_a_misconfigured_domain_is_announced_and_mailed_with_what_happens_next(
        self, devdns, live, cloudfront, announced, smtp_server
    ):
        devdns.remove(HOST)
        services.domain_check(domain=live)
        assert refreshed(live).status == DomainStatus.MISCONFIGURED
        announced.new()
        cloudfront.set_certificate(HOST, "revoked")

        step_when_due()

        events = announced.new()
        assert list(events) == ["domain.certificate.revoked"]
        data = events["domain.certificate.revoked"].payload["data"]
        assert (data["status"], data["previous_status"]) == ("misconfigured", "misconfigured")
        (message,) = mailed(smtp_server, events)
        assert message["Subject"] == f"{HOST} has a problem with its HTTPS certificate"
        assert message["To"] == "alice@example.com"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert CERTIFICATE_PROBLEM["revoked"] in text and CERTIFICATE_PROBLEM["revoked"] in html
        assert f"still served until {data['grace_until']}" in text
        assert f"/domains/{live.pk}/" in text

        step_when_due()  # the new certificate is requested: no problem, no e-mail
        assert mailed(smtp_server, announced.new()) == [message]

    def test_a_new_certificate_that_fails_too_is_mailed_with_its_own_reason(
        self, devdns, live, cloudfront, announced, smtp_server
    ):
        devdns.remove(HOST)
        services.domain_check(domain=live)
        cloudfront.set_certificate(HOST, "expired")
        step_when_due()
        step_when_due()  # the new one is requested
        announced.new()
        cloudfront.set_certificate(HOST, "failed")

        step_when_due()

        events = announced.new()
        assert list(events) == ["domain.certificate.failed"]
        assert (
            events["domain.certificate.failed"].payload["data"]["certificate"]["problem"]
            == CERTIFICATE_PROBLEM["failed"]
        )
        (message,) = mailed(smtp_server, events)
        assert CERTIFICATE_PROBLEM["failed"] in message.get_body(("plain",)).get_content()
        assert refreshed(live).status == DomainStatus.MISCONFIGURED

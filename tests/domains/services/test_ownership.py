"""Who holds a hostname: the first workspace to prove DNS control; a suspension blocks the hostname itself."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from domains import services
from domains.errors import HostnameTaken, InvalidTransition, NotAllowed
from domains.models import ActorKind, Domain, DomainEvent, DomainStatus
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

HOST = "gallery.client-domain.com"
APEX = "client-domain.com"
APEX_ADDRESS = "192.0.2.44"


@pytest.fixture
def apex_served(settings, devdns):
    """Root domains are offered only where the edge's addresses are configured; the apex points at them."""
    settings.EDGE_APEX_ADDRESSES = [APEX_ADDRESS]
    devdns.add(APEX, "A", APEX_ADDRESS)


OTHER_PROVED = "Another workspace proved ownership of this hostname."


def add(user, workspace, hostname=HOST):
    return services.domain_create(user=user, workspace=workspace, hostname=hostname)


def activate(domain):
    return services.domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="ok")


def refreshed(domain):
    return Domain.objects.get(pk=domain.pk)


def newest_event(domain):
    return DomainEvent.objects.filter(domain=domain).order_by("-created_at", "-id").first()


def blocks():
    from domains.models import HostnameBlock

    return HostnameBlock.objects.order_by("id")


class TestASuspensionBelongsToTheHostname:
    def test_alice_cannot_undo_a_suspension_by_deleting_the_domain_and_adding_it_again(self, alice, acme, support):
        domain = activate(add(alice, acme))
        services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")

        services.domain_delete(user=alice, domain=refreshed(domain))

        with pytest.raises(HostnameTaken) as refused:
            add(alice, acme)
        assert "blocked by VE.AI support" in str(refused.value)
        assert not Domain.objects.exists()

    def test_charlie_cannot_add_a_hostname_support_blocked_either(self, alice, acme, charlie, charlie_studio, support):
        services.domain_suspend(staff_user=support, domain=activate(add(alice, acme)), reason="phishing report")

        with pytest.raises(HostnameTaken, match="blocked by VE.AI support"):
            add(charlie, charlie_studio)
        assert Domain.objects.get().workspace == acme

    def test_the_block_is_recorded_with_who_and_why_and_outlives_the_domain(self, alice, acme, support):
        domain = activate(add(alice, acme))
        services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")
        services.domain_delete(user=alice, domain=refreshed(domain))

        block = blocks().get()
        assert (block.hostname, block.workspace, block.blocked_by, block.reason) == (
            HOST,
            acme,
            support,
            "phishing report",
        )
        assert block.is_active and block.domain is None

    def test_only_support_lifts_the_block_and_the_lift_is_recorded(self, alice, acme, support):
        domain = activate(add(alice, acme))
        services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")
        services.domain_delete(user=alice, domain=refreshed(domain))
        block = blocks().get()

        with pytest.raises(NotAllowed):
            services.hostname_block_lift(staff_user=alice, block=block, reason="I promise")
        lifted = services.hostname_block_lift(staff_user=support, block=block, reason="owner verified by phone")

        assert (lifted.lifted_by, lifted.lift_reason, lifted.is_active) == (support, "owner verified by phone", False)
        assert add(alice, acme).status == DomainStatus.PENDING

    def test_a_block_cannot_be_lifted_twice(self, alice, acme, support):
        services.domain_suspend(staff_user=support, domain=add(alice, acme), reason="abuse")
        block = blocks().get()
        services.hostname_block_lift(staff_user=support, block=block)
        with pytest.raises(InvalidTransition, match="already lifted"):
            services.hostname_block_lift(staff_user=support, block=block)

    def test_lifting_the_block_of_a_domain_the_tenant_kept_sends_it_back_to_pending(self, alice, acme, support):
        domain = activate(add(alice, acme))
        services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")

        services.hostname_block_lift(staff_user=support, block=blocks().get(), reason="cleared")

        assert refreshed(domain).status == DomainStatus.PENDING
        event = newest_event(domain)
        assert (event.from_status, event.to_status, event.actor_kind, event.actor_user, event.reason) == (
            "suspended",
            "pending",
            ActorKind.STAFF,
            support,
            "cleared",
        )

    def test_unsuspending_lifts_the_block(self, alice, acme, support):
        domain = activate(add(alice, acme))
        services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")

        services.domain_unsuspend(staff_user=support, domain=refreshed(domain), reason="cleared")

        block = blocks().get()
        assert (block.is_active, block.lifted_by, block.lift_reason) == (False, support, "cleared")
        assert refreshed(domain).status == DomainStatus.PENDING

    def test_suspending_fails_the_other_workspaces_pending_claims_without_naming_anyone(
        self, alice, acme, charlie, charlie_studio, support
    ):
        squat = add(charlie, charlie_studio)
        domain = add(alice, acme)

        services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")

        squat = refreshed(squat)
        assert squat.status == DomainStatus.FAILED and squat.next_check_at is None
        assert newest_event(squat).reason == "VE.AI support blocked this hostname."
        with pytest.raises(HostnameTaken, match="blocked by VE.AI support"):
            services.domain_retry(user=charlie, domain=squat)

    def test_a_claim_that_proves_dns_while_the_hostname_is_blocked_ends_failed(
        self, devdns, alice, acme, charlie_studio, support
    ):
        services.domain_suspend(staff_user=support, domain=add(alice, acme), reason="phishing report")
        late = DomainFactory(workspace=charlie_studio, hostname=HOST)  # slipped in before the block, say
        devdns.add(HOST, "CNAME", late.target)

        services.domain_check(domain=late)

        assert refreshed(late).status == DomainStatus.FAILED
        assert newest_event(late).reason == "VE.AI support blocked this hostname."

    def test_an_unproven_claim_cannot_be_suspended_while_another_workspace_holds_the_hostname(
        self, acme, charlie_studio, support
    ):
        DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.ACTIVE)
        squat = DomainFactory(workspace=charlie_studio, hostname=HOST, status=DomainStatus.FAILED)

        with pytest.raises(InvalidTransition, match="holds this hostname"):
            services.domain_suspend(staff_user=support, domain=squat, reason="squatting")
        assert not blocks().exists()


class TestSquatting:
    def test_charlies_pending_claim_does_not_stop_alice_from_adding_and_verifying_her_domain(
        self, devdns, alice, acme, charlie, charlie_studio
    ):
        squat = add(charlie, charlie_studio)

        domain = add(alice, acme)
        devdns.add(HOST, "CNAME", domain.target)
        services.domain_check(domain=domain)

        assert refreshed(domain).status == DomainStatus.ACTIVE
        squat = refreshed(squat)
        assert squat.status == DomainStatus.FAILED and squat.next_check_at is None
        event = newest_event(squat)
        assert (event.from_status, event.to_status, event.actor_kind, event.reason) == (
            "pending",
            "failed",
            ActorKind.SYSTEM,
            OTHER_PROVED,
        )
        assert "Acme" not in event.reason

    def test_the_first_to_prove_wins_whoever_added_first(
        self, apex_served, devdns, alice, acme, charlie, charlie_studio
    ):
        mine = add(alice, acme, APEX)
        theirs = add(charlie, charlie_studio, APEX)
        devdns.add(f"_ve-verify.{APEX}", "TXT", theirs.token)
        devdns.add(f"_ve-verify.{APEX}", "TXT", mine.token)

        services.domain_check(domain=theirs)
        services.domain_check(domain=mine)

        assert refreshed(theirs).status == DomainStatus.ACTIVE
        assert refreshed(mine).status == DomainStatus.FAILED
        assert newest_event(mine).reason == OTHER_PROVED

    def test_a_claim_that_proves_after_another_workspace_won_ends_failed(self, devdns, acme, charlie_studio):
        DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.ACTIVE)
        late = DomainFactory(workspace=charlie_studio, hostname=HOST)
        devdns.add(HOST, "CNAME", late.target)

        services.domain_check(domain=late)

        assert refreshed(late).status == DomainStatus.FAILED
        assert newest_event(late).reason == OTHER_PROVED
        assert Domain.objects.get(workspace=acme).status == DomainStatus.ACTIVE

    def test_a_failed_claim_never_stands_in_the_way(self, alice, acme, charlie_studio):
        DomainFactory(workspace=charlie_studio, hostname=HOST, status=DomainStatus.FAILED)
        assert add(alice, acme).status == DomainStatus.PENDING

    def test_a_proven_hostname_blocks_the_others_from_adding_it(self, alice, acme, charlie, charlie_studio):
        activate(add(alice, acme))
        with pytest.raises(HostnameTaken) as refused:
            add(charlie, charlie_studio)
        assert str(refused.value) == services.TAKEN_MESSAGE

    def test_a_losing_claim_cannot_be_retried_while_the_winner_holds_the_hostname(self, acme, charlie, charlie_studio):
        DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.MISCONFIGURED)
        lost = DomainFactory(workspace=charlie_studio, hostname=HOST, status=DomainStatus.FAILED)

        with pytest.raises(HostnameTaken, match="another workspace"):
            services.domain_retry(user=charlie, domain=lost)
        assert refreshed(lost).status == DomainStatus.FAILED

    def test_a_losing_claim_is_retried_once_the_winners_domain_failed(self, acme, charlie, charlie_studio):
        DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.FAILED)
        lost = DomainFactory(workspace=charlie_studio, hostname=HOST, status=DomainStatus.FAILED)
        assert services.domain_retry(user=charlie, domain=lost).status == DomainStatus.PENDING

    def test_a_workspace_holds_one_claim_per_hostname(self, alice, acme):
        add(alice, acme)
        with pytest.raises(HostnameTaken, match="already in this workspace"):
            add(alice, acme)

    def test_the_database_itself_allows_one_proven_domain_per_hostname(self, acme, charlie_studio):
        DomainFactory(workspace=acme, hostname=HOST, status=DomainStatus.ACTIVE)
        with pytest.raises(IntegrityError), transaction.atomic():
            DomainFactory(workspace=charlie_studio, hostname=HOST, status=DomainStatus.MISCONFIGURED)


@pytest.mark.django_db(transaction=True)
def test_two_workspaces_proving_one_hostname_at_the_same_moment_end_with_exactly_one_winner(
    apex_served, devdns, alice, acme, charlie, charlie_studio
):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; CI runs this against PostgreSQL")
    claims = [add(alice, acme, APEX), add(charlie, charlie_studio, APEX)]
    for claim in claims:
        devdns.add(f"_ve-verify.{APEX}", "TXT", claim.token)
    barrier = threading.Barrier(2)
    errors = []

    def prove(claim):
        try:
            barrier.wait()
            services.domain_check(domain=claim)
        except Exception as error:  # any error is the test failing, reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=prove, args=(claim,)) for claim in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    statuses = sorted(Domain.objects.values_list("status", flat=True))
    assert statuses == ["active", "failed"]
    loser = Domain.objects.get(status=DomainStatus.FAILED)
    assert newest_event(loser).reason == OTHER_PROVED

"""The domain services: who may act, the limits, and the event every change leaves."""

import threading

import pytest
from django.db import connection

from domains import services
from domains.edge.states import EdgeState
from domains.errors import HostnameTaken, InvalidHostname, InvalidTransition, NotAllowed, WorkspaceLimitReached
from domains.models import Domain, DomainEvent, DomainStatus, EdgeOutbox
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres


def create(user, workspace, hostname="gallery.client-domain.com"):
    return services.domain_create(user=user, workspace=workspace, hostname=hostname)


class TestDomainCreate:
    def test_an_owner_adds_a_pending_domain_due_for_a_check_at_once(self, alice, acme):
        domain = create(alice, acme, "https://Gallery.Client-Domain.com/")
        assert domain.hostname == "gallery.client-domain.com"
        assert domain.status == DomainStatus.PENDING
        assert domain.next_check_at is not None and domain.pending_since is not None
        assert domain.created_by == alice
        assert not domain.is_apex

    def test_the_domain_gets_an_unguessable_token_and_its_own_target(self, alice, acme, settings):
        first = create(alice, acme, "a.client-domain.com")
        second = create(alice, acme, "b.client-domain.com")
        assert first.token != second.token
        assert len(first.token) >= 20 and first.token.isalnum() and first.token == first.token.lower()
        assert first.target == f"{first.token}.{settings.CNAME_ZONE}"

    def test_an_apex_is_recognised(self, alice, acme, settings):
        settings.EDGE_APEX_ADDRESSES = ["192.0.2.44"]
        assert create(alice, acme, "client-domain.com").is_apex

    def test_an_apex_is_refused_clearly_where_the_edge_has_no_addresses_for_it(self, alice, acme, settings):
        settings.EDGE_APEX_ADDRESSES = []
        with pytest.raises(InvalidHostname, match="Root domains like bücher.de can't be connected here yet"):
            create(alice, acme, "bücher.de")

    def test_a_unicode_hostname_keeps_its_display_form(self, alice, acme):
        domain = create(alice, acme, "fotos.bücher.de")
        assert domain.hostname == "fotos.xn--bcher-kva.de"
        assert domain.display_hostname == "fotos.bücher.de"

    def test_a_member_cannot_add(self, bob, acme):
        with pytest.raises(NotAllowed):
            create(bob, acme)
        assert not Domain.objects.exists()

    def test_an_outsider_cannot_add_to_another_workspace(self, alice, charlie, acme):
        with pytest.raises(NotAllowed):
            create(charlie, acme)

    def test_an_invalid_hostname_is_refused_with_its_message(self, alice, acme):
        with pytest.raises(InvalidHostname, match="Underscores"):
            create(alice, acme, "my_gallery.example.com")

    def test_a_hostname_another_workspace_proved_is_taken_without_naming_it(self, alice, acme, charlie, charlie_studio):
        services.domain_transition(
            domain=create(alice, acme), to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="verified"
        )
        with pytest.raises(HostnameTaken) as excinfo:
            create(charlie, charlie_studio, "GALLERY.client-domain.com.")
        assert str(excinfo.value) == "This hostname is already connected to another workspace."
        assert "Acme" not in str(excinfo.value)
        assert Domain.objects.get().workspace == acme

    def test_the_same_hostname_twice_in_one_workspace_says_so(self, alice, acme):
        create(alice, acme)
        with pytest.raises(HostnameTaken, match="already in this workspace"):
            create(alice, acme)

    def test_the_workspace_limit_holds(self, alice, acme, settings):
        settings.MAX_DOMAINS_PER_WORKSPACE = 2
        create(alice, acme, "a.client-domain.com")
        create(alice, acme, "b.client-domain.com")
        with pytest.raises(WorkspaceLimitReached, match="2 domains"):
            create(alice, acme, "c.client-domain.com")
        assert Domain.objects.filter(workspace=acme).count() == 2

    def test_it_leaves_exactly_one_event(self, alice, acme):
        domain = create(alice, acme)
        event = DomainEvent.objects.get()
        assert (event.domain, event.from_status, event.to_status, event.actor_user) == (domain, "", "pending", alice)

    def test_it_writes_nothing_for_the_edge_yet(self, alice, acme):
        create(alice, acme)
        assert not EdgeOutbox.objects.exists()


class TestDomainDelete:
    def test_an_owner_deletes_and_the_history_stays(self, alice, acme):
        domain = create(alice, acme)
        services.domain_delete(user=alice, domain=domain)
        assert not Domain.objects.exists()
        deleted = DomainEvent.objects.get(to_status="")
        assert (deleted.hostname, deleted.from_status, deleted.actor_user) == (
            "gallery.client-domain.com",
            "pending",
            alice,
        )

    def test_a_member_cannot_delete(self, alice, bob, acme):
        domain = create(alice, acme)
        with pytest.raises(NotAllowed):
            services.domain_delete(user=bob, domain=domain)
        assert Domain.objects.filter(pk=domain.pk).exists()

    def test_charlie_cannot_delete_acmes_domain(self, alice, charlie, acme):
        domain = create(alice, acme)
        with pytest.raises(NotAllowed):
            services.domain_delete(user=charlie, domain=domain)
        assert Domain.objects.filter(pk=domain.pk).exists()

    def test_deleting_a_served_domain_tombstones_it_at_the_edge(self, alice, acme):
        domain = create(alice, acme)
        domain = services.domain_transition(
            domain=domain, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="verified"
        )
        services.domain_delete(user=alice, domain=domain)
        serve, gone = EdgeOutbox.objects.order_by("id")
        assert (serve.state, gone.state) == (EdgeState.SERVE, EdgeState.GONE)
        assert gone.version > serve.version

    def test_a_hostname_added_again_after_deletion_gets_a_higher_edge_version(self, alice, acme):
        domain = services.domain_transition(
            domain=create(alice, acme), to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="ok"
        )
        services.domain_delete(user=alice, domain=domain)
        again = services.domain_transition(
            domain=create(alice, acme), to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="ok"
        )
        versions = list(EdgeOutbox.objects.order_by("id").values_list("version", flat=True))
        assert versions == sorted(versions) and len(set(versions)) == 3
        assert again.edge_version == versions[-1]


class TestRetrySuspendUnsuspend:
    def test_a_failed_domain_is_retried_back_to_pending(self, alice, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.FAILED)
        retried = services.domain_retry(user=alice, domain=domain)
        assert retried.status == DomainStatus.PENDING and retried.next_check_at is not None
        assert DomainEvent.objects.filter(domain=domain, from_status="failed", to_status="pending").count() == 1

    def test_only_a_failed_domain_can_be_retried(self, alice, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        with pytest.raises(InvalidTransition):
            services.domain_retry(user=alice, domain=domain)
        assert not DomainEvent.objects.exists()

    def test_a_member_cannot_retry(self, bob, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.FAILED)
        with pytest.raises(NotAllowed):
            services.domain_retry(user=bob, domain=domain)

    def test_staff_suspend_an_active_domain_and_the_edge_stops_serving_it(self, support, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        suspended = services.domain_suspend(staff_user=support, domain=domain, reason="phishing report")
        assert suspended.status == DomainStatus.SUSPENDED and suspended.next_check_at is None
        event = DomainEvent.objects.get()
        assert (event.actor_kind, event.actor_user, event.reason) == ("staff", support, "phishing report")
        assert EdgeOutbox.objects.get().state == EdgeState.GONE

    def test_suspending_needs_a_reason(self, support, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        with pytest.raises(InvalidTransition, match="reason"):
            services.domain_suspend(staff_user=support, domain=domain, reason="  ")

    def test_a_tenant_or_staff_without_permission_cannot_suspend(self, alice, staff_without_permission, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        for user in (alice, staff_without_permission):
            with pytest.raises(NotAllowed):
                services.domain_suspend(staff_user=user, domain=domain, reason="x")
        domain.refresh_from_db()
        assert domain.status == DomainStatus.ACTIVE

    def test_unsuspending_sends_the_domain_back_to_prove_itself(self, support, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.SUSPENDED)
        unsuspended = services.domain_unsuspend(staff_user=support, domain=domain, reason="cleared")
        assert unsuspended.status == DomainStatus.PENDING
        assert DomainEvent.objects.get().reason == "cleared"

    def test_only_a_suspended_domain_can_be_unsuspended(self, support, acme):
        with pytest.raises(InvalidTransition):
            services.domain_unsuspend(staff_user=support, domain=DomainFactory(workspace=acme))


class TestTransitions:
    @pytest.mark.parametrize(
        ("start", "to", "edge_rows"),
        [
            ("pending", "active", ["serve"]),
            ("active", "misconfigured", []),
            ("misconfigured", "failed", ["gone"]),
            ("misconfigured", "active", []),
            ("pending", "failed", []),
        ],
    )
    def test_each_change_leaves_one_event_and_an_edge_row_only_when_servability_changes(
        self, acme, start, to, edge_rows
    ):
        domain = DomainFactory(workspace=acme, status=start)
        services.domain_transition(domain=domain, to_status=to, actor=services.SYSTEM, reason="check")
        assert (
            DomainEvent.objects.filter(domain=domain, from_status=start, to_status=to, actor_kind="system").count() == 1
        )
        assert list(EdgeOutbox.objects.values_list("state", flat=True)) == edge_rows

    def test_staying_in_the_same_status_leaves_no_event(self, acme):
        domain = DomainFactory(workspace=acme, status=DomainStatus.ACTIVE)
        services.domain_transition(
            domain=domain, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="still fine"
        )
        assert not DomainEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workspaces_claiming_one_hostname_at_once_both_hold_unproven_claims(alice, acme, charlie, charlie_studio):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; CI runs this against PostgreSQL")
    barrier = threading.Barrier(2)
    outcomes = []

    def claim(user, workspace):
        barrier.wait()
        try:
            create(user, workspace)
            outcomes.append("created")
        except HostnameTaken as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=pair) for pair in ((alice, acme), (charlie, charlie_studio))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["created", "created"]
    assert sorted(Domain.objects.values_list("status", flat=True)) == ["pending", "pending"]

"""The edge outbox reaching DynamoDB: after commit, out of order, twice, and through outages."""

import contextlib

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from domains import selectors, services
from domains.edge import delivery
from domains.models import Domain, DomainStatus, EdgeOutbox
from portal.celery import app as celery_app
from tests.factories import DomainFactory, WorkspaceFactory
from tests.fixtures.processes import free_port

pytestmark = pytest.mark.postgres


@pytest.fixture
def eager_tasks():
    """Tasks queued after commit run in-process, as a worker would run them."""
    with celery_conf(task_always_eager=True):
        yield


@contextlib.contextmanager
def celery_conf(**values):
    previous = {key: celery_app.conf[key] for key in values}
    celery_app.conf.update(values)
    try:
        yield
    finally:
        celery_app.conf.update(previous)


@pytest.fixture
def committed(django_capture_on_commit_callbacks, eager_tasks):
    """Run a change and then its after-commit callbacks (the delivery task)."""

    def run(change):
        with django_capture_on_commit_callbacks(execute=True):
            return change()

    return run


def transition(domain, status, **fields):
    return services.domain_transition(domain=domain, to_status=status, actor=services.SYSTEM, reason="test", **fields)


def activate(domain):
    return transition(domain, DomainStatus.ACTIVE)


@pytest.fixture
def domain(acme):
    return DomainFactory(workspace=acme, hostname="gallery.client-domain.com")


class TestDeliveryAfterCommit:
    def test_a_domain_turning_active_appears_with_its_workspace_and_version(self, edge_table, committed, domain, acme):
        domain = committed(lambda: activate(domain))
        item = edge_table.item("gallery.client-domain.com")
        assert item["state"] == "serve"
        assert item["workspace_id"] == acme.public_id
        assert item["version"] == domain.edge_version > 0
        assert EdgeOutbox.objects.get().delivered_at is not None

    def test_misconfigured_keeps_being_served(self, edge_table, committed, domain):
        domain = committed(lambda: activate(domain))
        committed(lambda: transition(domain, DomainStatus.MISCONFIGURED))
        item = edge_table.item("gallery.client-domain.com")
        assert item["state"] == "serve"
        assert item["version"] == Domain.objects.get().edge_version
        assert EdgeOutbox.objects.count() == 1

    @pytest.mark.parametrize("status", [DomainStatus.FAILED, DomainStatus.SUSPENDED])
    def test_failed_and_suspended_become_tombstones(self, edge_table, committed, domain, status):
        domain = committed(lambda: activate(domain))
        domain = committed(lambda: transition(domain, status))
        item = edge_table.item("gallery.client-domain.com")
        assert item["state"] == "gone"
        assert item["version"] == domain.edge_version
        assert item["expires_at"] > 0

    def test_a_deleted_domain_becomes_a_tombstone(self, edge_table, committed, domain, alice):
        domain = committed(lambda: activate(domain))
        committed(lambda: services.domain_delete(user=alice, domain=domain))
        item = edge_table.item("gallery.client-domain.com")
        assert item["state"] == "gone"
        assert item["version"] > domain.edge_version

    def test_a_pending_domain_never_reaches_the_edge(self, edge_table, committed, alice, acme):
        committed(lambda: services.domain_create(user=alice, workspace=acme, hostname="new.client-domain.com"))
        assert edge_table.item("new.client-domain.com") is None


class TestVersionsAcrossDeletion:
    """A hostname's versions come from its own counter, which outlives its domains, never from a clock."""

    HOST = "again.client-domain.com"

    def test_deleted_and_added_again_by_a_process_whose_clock_is_3_s_behind_it_is_served(
        self, edge_table, committed, alice, acme
    ):
        with time_machine.travel(timezone.now(), tick=False) as clock:
            first = services.domain_create(user=alice, workspace=acme, hostname=self.HOST)
            first = committed(lambda: activate(first))
            committed(lambda: services.domain_delete(user=alice, domain=first))
            assert edge_table.item(self.HOST)["state"] == "gone"

            clock.shift(-3)  # the next request lands on a process whose clock is 3 s behind
            again = services.domain_create(user=alice, workspace=acme, hostname=self.HOST)
            again = committed(lambda: activate(again))

        item = edge_table.item(self.HOST)
        assert (item["state"], item["workspace_id"], item["version"]) == ("serve", acme.public_id, again.edge_version)

    def test_each_change_of_a_hostname_is_one_more_than_the_last_even_across_deletion(self, alice, acme):
        from domains.models import Hostname

        first = activate(services.domain_create(user=alice, workspace=acme, hostname=self.HOST))
        services.domain_delete(user=alice, domain=first)
        activate(services.domain_create(user=alice, workspace=acme, hostname=self.HOST))
        versions = list(EdgeOutbox.objects.order_by("id").values_list("version", flat=True))
        assert versions == [1, 2, 3]
        assert Hostname.objects.get(hostname=self.HOST).edge_version == 3


class TestOnlyTheProvenDomainIsServed:
    """Several workspaces may claim a hostname; the edge only ever hears of the one that proved it."""

    def test_a_losing_claims_deletion_never_unserves_the_winner(
        self, edge_table, committed, domain, alice, acme, charlie, charlie_studio
    ):
        domain = committed(lambda: activate(domain))
        committed(lambda: transition(domain, DomainStatus.FAILED))  # alice's DNS moved away; grace over
        winner = services.domain_create(user=charlie, workspace=charlie_studio, hostname=domain.hostname)
        winner = committed(lambda: activate(winner))

        committed(lambda: services.domain_delete(user=alice, domain=Domain.objects.get(pk=domain.pk)))

        item = edge_table.item(domain.hostname)
        assert (item["state"], item["workspace_id"]) == ("serve", charlie_studio.public_id)
        assert item["version"] == Domain.objects.get(pk=winner.pk).edge_version

    def test_resyncing_a_losing_claim_resends_the_winner(self, edge_table, committed, acme, charlie_studio, support):
        lost = DomainFactory(workspace=acme, hostname="shared.client-domain.com", status=DomainStatus.FAILED)
        winner = committed(
            lambda: activate(DomainFactory(workspace=charlie_studio, hostname="shared.client-domain.com"))
        )

        committed(lambda: services.domain_resync_edge(staff_user=support, domain=lost))

        item = edge_table.item("shared.client-domain.com")
        assert (item["state"], item["workspace_id"]) == ("serve", charlie_studio.public_id)
        assert item["version"] == Domain.objects.get(pk=winner.pk).edge_version

    def test_a_losing_claim_never_shows_the_winners_edge_state(self, edge_table, committed, acme, charlie_studio):
        DomainFactory(workspace=acme, hostname="shared.client-domain.com", status=DomainStatus.FAILED)
        committed(lambda: activate(DomainFactory(workspace=charlie_studio, hostname="shared.client-domain.com")))
        states = {d.workspace_id: d.edge_state for d in selectors.annotate_edge_state(Domain.objects.all())}
        assert states == {acme.pk: "not_served", charlie_studio.pk: "serving"}
        lost = Domain.objects.get(workspace=acme)
        assert selectors.domain_edge_status(domain=lost)["state"] == "not_served"


class TestVersionedDelivery:
    def test_an_older_version_delivered_after_a_newer_one_leaves_the_newer(self, edge_table, domain):
        with transaction.atomic():
            domain = activate(domain)
        with transaction.atomic():
            transition(domain, DomainStatus.SUSPENDED)
        serve, gone = EdgeOutbox.objects.order_by("version")
        delivery.edge_deliver(outbox_id=gone.pk)
        report = delivery.edge_deliver(outbox_id=serve.pk)
        assert report.superseded == 1
        item = edge_table.item("gallery.client-domain.com")
        assert (item["state"], item["version"]) == ("gone", gone.version)
        assert EdgeOutbox.objects.filter(delivered_at__isnull=True).count() == 0

    def test_the_same_delivery_twice_is_harmless(self, edge_table, domain):
        activate(domain)
        row = EdgeOutbox.objects.get()
        assert delivery.edge_deliver_many(rows=[row, row], workers=2).delivered == 2
        assert delivery.edge_deliver(outbox_id=row.pk).delivered == 0  # already delivered: left alone
        item = edge_table.item("gallery.client-domain.com")
        assert (item["state"], item["version"]) == ("serve", row.version)

    def test_a_row_that_has_gone_is_tolerated(self, edge_table, db):
        assert delivery.edge_deliver(outbox_id=123456).delivered == 0

    def test_a_burst_is_delivered_in_parallel_with_every_write_conditional(self, edge_table, acme):
        rows = [
            EdgeOutbox.objects.create(
                hostname=f"h{i}.client-domain.com", workspace_public_id="ws_x", version=100, state="serve"
            )
            for i in range(30)
        ]
        # A newer state for one hostname is already stored: its older row must not win.
        services_newer = edge_table.client.put_item(
            TableName=edge_table.name,
            Item={
                "host": {"S": "h0.client-domain.com"},
                "workspace_id": {"S": "ws_y"},
                "version": {"N": "200"},
                "state": {"S": "gone"},
            },
        )
        assert services_newer
        report = delivery.edge_deliver_many(rows=rows, workers=8)
        assert (report.written, report.superseded, report.failed) == (29, 1, 0)
        assert edge_table.item("h0.client-domain.com")["state"] == "gone"
        assert len(edge_table.hosts()) == 30


class TestOutages:
    def test_with_the_endpoint_down_nothing_is_lost_and_the_sweep_delivers_later(
        self, edge_table, committed, acme, dynamodb_endpoint_factory, settings
    ):
        settings.EDGE_RETRY_BASE_SECONDS = 0  # due again at once, so the sweep needn't wait
        server = dynamodb_endpoint_factory()
        edge_table.use(server.url, create=True)
        one, two, three = (DomainFactory(workspace=acme, hostname=f"d{i}.client-domain.com") for i in range(3))
        committed(lambda: activate(one))
        committed(lambda: activate(two))
        server.stop()

        three = committed(lambda: activate(three))
        committed(lambda: transition(Domain.objects.get(pk=one.pk), DomainStatus.SUSPENDED))
        committed(
            lambda: services.domain_delete(
                user=acme.members.first() or _owner(acme), domain=Domain.objects.get(pk=two.pk)
            )
        )

        pending = EdgeOutbox.objects.filter(delivered_at__isnull=True)
        assert pending.count() == 3
        assert all(row.attempts == 1 and row.last_error for row in pending)
        states = {d.hostname: d.edge_state for d in selectors.annotate_edge_state(Domain.objects.all())}
        assert states == {"d0.client-domain.com": "sync_failed", "d2.client-domain.com": "sync_failed"}

        restarted = dynamodb_endpoint_factory(port=server.port)  # same address, empty again
        edge_table.use(restarted.url, create=True)
        report = delivery.edge_sweep(grace_seconds=0)
        assert report.failed == 0 and report.delivered == 3
        assert not EdgeOutbox.objects.filter(delivered_at__isnull=True).exists()
        assert edge_table.item("d0.client-domain.com")["state"] == "gone"
        assert edge_table.item("d1.client-domain.com")["state"] == "gone"
        assert edge_table.item("d2.client-domain.com")["version"] == three.edge_version
        states = {d.hostname: d.edge_state for d in selectors.annotate_edge_state(Domain.objects.all())}
        assert states == {"d0.client-domain.com": "not_served", "d2.client-domain.com": "serving"}

    def test_the_sweep_leaves_fresh_rows_to_their_task_and_retries_only_when_due(self, edge_table, domain, settings):
        activate(domain)
        assert delivery.edge_sweep(grace_seconds=3600).delivered == 0
        row = EdgeOutbox.objects.get()
        settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
        settings.EDGE_RETRY_BASE_SECONDS = 3600
        assert delivery.edge_sweep(grace_seconds=0).failed == 1
        row.refresh_from_db()
        assert row.attempts == 1 and row.next_attempt_at is not None and "Unavailable" in row.last_error
        assert delivery.edge_sweep(grace_seconds=0).failed == 0  # not due for an hour

    def test_the_sweep_writes_only_the_newest_row_of_a_hostname(self, edge_table, domain):
        domain = activate(domain)
        domain = transition(domain, DomainStatus.FAILED)
        transition(domain, DomainStatus.PENDING)
        activate(Domain.objects.get(pk=domain.pk))
        report = delivery.edge_sweep(grace_seconds=0)
        assert (report.written, report.superseded) == (1, 2)
        assert edge_table.item("gallery.client-domain.com")["state"] == "serve"
        assert not EdgeOutbox.objects.filter(delivered_at__isnull=True).exists()


def _owner(workspace):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory()
    MembershipFactory(user=user, workspace=workspace)
    return user


@pytest.mark.django_db(transaction=True)
def test_with_redis_unreachable_at_commit_the_sweep_delivers_later(edge_table, settings):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    settings.CELERY_BROKER_URL = closed
    workspace = WorkspaceFactory()
    domain = DomainFactory(workspace=workspace, hostname="late.client-domain.com")

    celery_app.close()  # drop any pooled connection to a real broker
    with celery_conf(broker_url=closed, task_always_eager=False):
        activate(domain)  # commits; the after-commit queueing fails quietly
        celery_app.close()

    row = EdgeOutbox.objects.get()
    assert row.delivered_at is None and row.attempts == 0
    assert edge_table.item("late.client-domain.com") is None
    assert delivery.edge_sweep(grace_seconds=0).written == 1
    assert edge_table.item("late.client-domain.com")["workspace_id"] == workspace.public_id


class TestEdgeStateSelectors:
    def test_each_domain_gets_its_edge_state_in_one_query(self, edge_table, acme, settings, django_assert_num_queries):
        never = DomainFactory(workspace=acme, hostname="never.client-domain.com")
        serving = activate(DomainFactory(workspace=acme, hostname="serving.client-domain.com"))
        syncing = activate(DomainFactory(workspace=acme, hostname="syncing.client-domain.com"))
        failing = activate(DomainFactory(workspace=acme, hostname="failing.client-domain.com"))
        delivery.edge_deliver(outbox_id=EdgeOutbox.objects.get(hostname=serving.hostname).pk)
        settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
        delivery.edge_deliver(outbox_id=EdgeOutbox.objects.get(hostname=failing.hostname).pk)
        with django_assert_num_queries(1):
            states = {d.hostname: d.edge_state for d in selectors.annotate_edge_state(Domain.objects.all())}
        assert states == {
            never.hostname: "not_served",
            serving.hostname: "serving",
            syncing.hostname: "syncing",
            failing.hostname: "sync_failed",
        }

    def test_one_domains_edge_status_says_what_and_why(self, edge_table, domain, settings):
        assert selectors.domain_edge_status(domain=domain)["state"] == "not_served"
        domain = activate(domain)
        settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
        delivery.edge_sweep(grace_seconds=0)
        status = selectors.domain_edge_status(domain=domain)
        assert status["state"] == "sync_failed" and status["version"] == domain.edge_version
        assert "EdgeStoreUnavailable" in status["last_error"] and status["delivered_at"] is None

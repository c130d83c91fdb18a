"""The reconciler finds drift between the edge table and the database and repairs exactly it."""

import json

import pytest
from django.core.management import call_command

from domains import services
from domains.edge import delivery, reconcile
from domains.edge import store as edge_store
from domains.models import Domain, DomainStatus, EdgeOutbox
from tests.factories import DomainFactory, WorkspaceFactory

pytestmark = pytest.mark.postgres


def served(workspace, hostname):
    """A domain that turned active and whose change reached the table."""
    domain = DomainFactory(workspace=workspace, hostname=hostname)
    domain = services.domain_transition(
        domain=domain, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="test"
    )
    delivery.edge_sweep(grace_seconds=0)
    return domain


def put_raw(edge_table, host, workspace_id, version, state="serve"):
    edge_table.client.put_item(
        TableName=edge_table.name,
        Item=edge_store.build_item(hostname=host, workspace_id=workspace_id, version=version, state=state),
    )


@pytest.fixture
def corrupted(edge_table, acme, charlie_studio):
    """Four served domains, then by hand: one item missing, one with the wrong workspace, one extra."""
    domains = [served(acme, f"g{i}.client-domain.com") for i in range(4)]
    edge_table.client.delete_item(TableName=edge_table.name, Key={"host": {"S": "g0.client-domain.com"}})
    put_raw(edge_table, "g1.client-domain.com", charlie_studio.public_id, domains[1].edge_version)
    put_raw(edge_table, "stray.client-domain.com", charlie_studio.public_id, 42)
    return domains


def test_a_table_in_sync_has_no_drift(edge_table, acme):
    for i in range(3):
        served(acme, f"ok{i}.client-domain.com")
    report = reconcile.edge_reconcile()
    assert (report.scanned, report.expected, report.in_sync, report.drift) == (3, 3, 3, 0)
    assert report.written == 0


def test_a_hand_corrupted_table_is_repaired_and_exactly_three_repairs_reported(edge_table, corrupted, acme):
    report = reconcile.edge_reconcile()
    assert (report.missing, report.stale, report.extra) == (1, 1, 1)
    assert report.in_sync == 2
    assert report.written == 3 and report.failed == 0
    assert edge_table.item("g0.client-domain.com")["workspace_id"] == acme.public_id
    wrong = edge_table.item("g1.client-domain.com")
    assert wrong["workspace_id"] == acme.public_id and wrong["state"] == "serve"
    # Same version as the corrupt item, so the domain's version was bumped to win the condition.
    assert (
        wrong["version"] == Domain.objects.get(hostname="g1.client-domain.com").edge_version > corrupted[1].edge_version
    )
    stray = edge_table.item("stray.client-domain.com")
    assert (stray["state"], stray["version"]) == ("gone", 43)
    assert reconcile.edge_reconcile().drift == 0


def test_a_dry_run_reports_without_writing(edge_table, corrupted):
    before = EdgeOutbox.objects.count()
    report = reconcile.edge_reconcile(dry_run=True)
    assert (report.missing, report.stale, report.extra) == (1, 1, 1)
    assert report.written == 0
    assert EdgeOutbox.objects.count() == before
    assert edge_table.item("g0.client-domain.com") is None


def test_an_older_version_is_rewritten_with_the_domains_current_one(edge_table, acme):
    domain = served(acme, "old.client-domain.com")
    put_raw(edge_table, "old.client-domain.com", acme.public_id, domain.edge_version - 5)
    report = reconcile.edge_reconcile()
    assert report.stale == 1 and report.bumped == 0
    assert edge_table.item("old.client-domain.com")["version"] == domain.edge_version


def test_a_served_item_for_a_domain_that_is_no_longer_servable_is_tombstoned(edge_table, acme):
    domain = served(acme, "sus.client-domain.com")
    Domain.objects.filter(pk=domain.pk).update(status=DomainStatus.SUSPENDED)  # as if its tombstone was lost
    report = reconcile.edge_reconcile()
    assert report.extra == 1
    assert edge_table.item("sus.client-domain.com")["state"] == "gone"


def test_a_tombstone_for_a_servable_domain_counts_as_missing(edge_table, acme):
    domain = served(acme, "back.client-domain.com")
    put_raw(edge_table, "back.client-domain.com", acme.public_id, domain.edge_version - 1, state="gone")
    report = reconcile.edge_reconcile()
    assert report.missing == 1
    assert edge_table.item("back.client-domain.com")["state"] == "serve"


def test_the_expected_set_is_built_in_one_query(db, django_assert_max_num_queries):
    workspaces = [WorkspaceFactory() for _ in range(3)]
    for i in range(30):
        DomainFactory(
            workspace=workspaces[i % 3],
            hostname=f"e{i}.client-domain.com",
            status=DomainStatus.ACTIVE,
            edge_version=i + 1,
        )
    with django_assert_max_num_queries(1):
        expected = reconcile.expected_items()
    assert len(expected) == 30 and expected["e3.client-domain.com"] == (workspaces[0].public_id, 4)


def test_the_command_prints_the_counts(edge_table, corrupted, capsys):
    call_command("reconcile_edge", "--dry-run")
    out = capsys.readouterr().out
    assert "Missing:   1" in out and "Stale:     1" in out and "Extra:     1" in out and "Dry run" in out
    call_command("reconcile_edge", "--json")
    data = json.loads(capsys.readouterr().out)
    assert (data["missing"], data["stale"], data["extra"], data["written"]) == (1, 1, 1, 3)


def test_the_expected_set_holds_only_the_proven_domain_of_a_hostname(edge_table, acme, charlie_studio):
    DomainFactory(workspace=charlie_studio, hostname="shared.client-domain.com", status=DomainStatus.FAILED)
    winner = served(acme, "shared.client-domain.com")
    DomainFactory(workspace=WorkspaceFactory(), hostname="shared.client-domain.com")  # a pending claim
    assert reconcile.expected_items() == {"shared.client-domain.com": (acme.public_id, winner.edge_version)}
    assert reconcile.edge_reconcile().drift == 0


def test_a_stray_item_tombstoned_by_the_reconciler_is_beaten_by_a_domain_added_later(edge_table, acme, alice):
    put_raw(edge_table, "stray.client-domain.com", "ws_gone", 10**15)  # e.g. a time-based version of old
    reconcile.edge_reconcile()
    assert edge_table.item("stray.client-domain.com")["version"] == 10**15 + 1

    domain = services.domain_create(user=alice, workspace=acme, hostname="stray.client-domain.com")
    services.domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="ok")
    delivery.edge_sweep(grace_seconds=0)

    item = edge_table.item("stray.client-domain.com")
    assert (item["state"], item["workspace_id"], item["version"]) == ("serve", acme.public_id, 10**15 + 2)


def test_a_served_item_whose_claims_all_failed_is_tombstoned_past_the_hostnames_version(
    edge_table, acme, charlie_studio
):
    domain = served(acme, "lost.client-domain.com")
    Domain.objects.filter(pk=domain.pk).update(status=DomainStatus.FAILED)  # as if its tombstone was lost
    DomainFactory(workspace=charlie_studio, hostname="lost.client-domain.com", status=DomainStatus.FAILED)
    report = reconcile.edge_reconcile()
    assert report.extra == 1
    item = edge_table.item("lost.client-domain.com")
    assert item["state"] == "gone" and item["version"] > domain.edge_version

"""Migrating existing rows: every known hostname's version row, and a block for every suspension."""

import importlib

import pytest
from django.apps import apps

from domains import services
from domains.models import DomainEvent, DomainStatus, EdgeOutbox, Hostname, HostnameBlock
from tests.factories import DomainFactory

pytestmark = pytest.mark.postgres

seed_hostnames = importlib.import_module("domains.migrations.0002_hostname_claims_and_versions").seed_hostnames
OLD_VERSION = 1_764_000_000_000_000  # versions used to be microsecond timestamps


def test_each_hostname_is_seeded_with_the_highest_version_it_used(acme):
    DomainFactory(
        workspace=acme, hostname="live.client-domain.com", status=DomainStatus.ACTIVE, edge_version=OLD_VERSION
    )
    # A deleted domain whose tombstone may still be at the edge: only its outbox rows remain.
    for version, state in ((OLD_VERSION - 10, "serve"), (OLD_VERSION + 7, "gone")):
        EdgeOutbox.objects.create(
            hostname="gone.client-domain.com", workspace_public_id="ws_1", version=version, state=state
        )

    seed_hostnames(apps, None)

    assert dict(Hostname.objects.values_list("hostname", "edge_version")) == {
        "live.client-domain.com": OLD_VERSION,
        "gone.client-domain.com": OLD_VERSION + 7,
    }


def test_a_hostname_deleted_before_the_migration_and_added_again_beats_its_old_tombstone(alice, acme):
    EdgeOutbox.objects.create(
        hostname="gone.client-domain.com", workspace_public_id="ws_1", version=OLD_VERSION, state="gone"
    )
    seed_hostnames(apps, None)

    domain = services.domain_create(user=alice, workspace=acme, hostname="gone.client-domain.com")
    domain = services.domain_transition(
        domain=domain, to_status=DomainStatus.ACTIVE, actor=services.SYSTEM, reason="ok"
    )

    assert domain.edge_version == OLD_VERSION + 1


def test_an_existing_suspension_becomes_a_block_with_its_reason_and_staff(acme, support):
    domain = DomainFactory(workspace=acme, hostname="sus.client-domain.com", status=DomainStatus.SUSPENDED)
    DomainEvent.objects.create(
        domain=domain,
        workspace=acme,
        hostname=domain.hostname,
        actor_kind="staff",
        actor_user=support,
        from_status="active",
        to_status="suspended",
        reason="phishing report",
    )

    seed_hostnames(apps, None)
    seed_hostnames(apps, None)  # running it again changes nothing

    block = HostnameBlock.objects.get()
    assert (block.hostname, block.domain, block.workspace, block.reason, block.blocked_by, block.is_active) == (
        "sus.client-domain.com",
        domain,
        acme,
        "phishing report",
        support,
        True,
    )

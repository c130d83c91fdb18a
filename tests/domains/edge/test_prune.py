"""Pruning the edge outbox keeps what is still needed: the newest row per hostname and anything undelivered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from domains.edge import delivery
from domains.models import EdgeOutbox

pytestmark = pytest.mark.postgres


def row(hostname, version, *, delivered_days_ago=None):
    delivered = None if delivered_days_ago is None else timezone.now() - timedelta(days=delivered_days_ago)
    return EdgeOutbox.objects.create(
        hostname=hostname, workspace_public_id="ws_1", version=version, state="serve", delivered_at=delivered
    )


@pytest.mark.django_db
def test_it_deletes_old_delivered_rows_that_a_newer_row_supersedes():
    old = row("a.client-domain.com", 1, delivered_days_ago=40)
    newest = row("a.client-domain.com", 2, delivered_days_ago=40)
    recent_superseded = row("b.client-domain.com", 1, delivered_days_ago=2)
    row("b.client-domain.com", 2, delivered_days_ago=1)
    undelivered_superseded = row("c.client-domain.com", 1)
    row("c.client-domain.com", 2)

    assert delivery.edge_outbox_prune(older_than_days=30) == 1

    remaining = set(EdgeOutbox.objects.values_list("pk", flat=True))
    assert old.pk not in remaining
    assert {newest.pk, recent_superseded.pk, undelivered_superseded.pk} <= remaining

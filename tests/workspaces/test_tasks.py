from datetime import timedelta

import pytest
from django.utils import timezone

from workspaces.models import IdempotencyRecord
from workspaces.tasks import purge_idempotency_records


def record(workspace, key):
    return IdempotencyRecord.objects.create(
        workspace=workspace, key=key, request_hash="0" * 64, response_status=201, response_body={}
    )


@pytest.mark.django_db
def test_the_hourly_purge_drops_only_expired_idempotency_records(acme):
    fresh = record(acme, "fresh")
    old = record(acme, "old")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))

    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]

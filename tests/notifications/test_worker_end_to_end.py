"""Webhooks through a real Celery worker and beat over real Redis, to a real receiver on loopback."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

pytestmark = pytest.mark.slow

SETUP = """
import json
from domains.services import domain_create
from notifications import webhooks
from notifications.models import Event, WebhookDelivery
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
alice = UserFactory(username="alice")
acme = WorkspaceFactory(name="Acme Photo")
MembershipFactory(user=alice, workspace=acme)
endpoint = webhooks.endpoint_create(user=alice, workspace=acme, url="%s", events=[])
domain = domain_create(user=alice, workspace=acme, hostname="gallery.client-domain.com")
# A delivery whose task never reached a worker (or whose worker died holding it): only a row.
lost = Event.objects.create(workspace=acme, hostname="lost.client-domain.com", type="domain.active",
                            payload={"type": "domain.active", "timestamp": "2026-11-30T00:00:00+00:00", "data": {}})
WebhookDelivery.objects.create(endpoint=endpoint, event=lost, next_attempt_at=lost.created_at)
print(json.dumps({"secret": endpoint.secret}))
"""


def test_the_worker_delivers_at_once_and_the_sweep_delivers_what_no_task_carried(celery_worker, receiver):
    created = celery_worker.run_django(SETUP % receiver.url)

    celery_worker.wait_for(
        "SELECT n FROM (SELECT COUNT(*) AS n FROM notifications_webhookdelivery WHERE status = 'succeeded') WHERE n = 2"
    )
    types = sorted(Webhook(created["secret"]).verify(got.body, got.headers)["type"] for got in receiver.received)
    assert types == ["domain.active", "domain.created"]
    assert len({got.headers["webhook-id"] for got in receiver.received}) == 2
    attempts = celery_worker.query("SELECT status_code FROM notifications_webhookattempt")
    assert attempts == [(200,), (200,)]
    assert json.loads(receiver.received[0].body)["type"] in types

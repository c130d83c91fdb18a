"""Webhooks as alice's integration sees them: signed deliveries to a real loopback server, retried, logged, never lost."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from domains.models import DomainStatus
from domains.services.lifecycle import SYSTEM, domain_create, domain_transition
from notifications import webhooks
from notifications.models import DeliveryStatus, WebhookDelivery
from notifications.tasks import email_endpoint_disabled
from workspaces.roles import NotAllowed

pytestmark = pytest.mark.postgres

HOST = "gallery.client-domain.com"


@pytest.fixture
def endpoint(alice, acme, receiver, loopback_allowed):
    return webhooks.endpoint_create(user=alice, workspace=acme, url=receiver.url, events=[], description="CRM")


def deliver_all() -> list[WebhookDelivery]:
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
    return [webhooks.delivery_attempt(delivery_id=pk) for pk in list(pending.values_list("pk", flat=True))]


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_status_change_reaches_alices_receiver_signed_so_the_reference_library_verifies_it(
    endpoint, alice, acme, receiver
):
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")

    done = deliver_all()

    assert [d.status for d in done] == [DeliveryStatus.SUCCEEDED] * 2
    bodies = [Webhook(endpoint.secret).verify(got.body, got.headers) for got in receiver.received]
    assert sorted(b["type"] for b in bodies) == ["domain.active", "domain.created"]
    active = next(b for b in bodies if b["type"] == "domain.active")
    assert active["data"]["hostname"] == HOST and active["data"]["previous_status"] == "pending"
    attempt = done[0].attempt_log.get()
    assert attempt.status_code == 200 and attempt.excerpt == "ok" and attempt.error == ""


def test_an_endpoint_gets_only_the_types_it_asked_for(alice, acme, receiver, loopback_allowed):
    webhooks.endpoint_create(user=alice, workspace=acme, url=receiver.url, events=["domain.active"])
    domain = domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_transition(domain=domain, to_status=DomainStatus.ACTIVE, actor=SYSTEM, reason="verified")
    deliver_all()
    assert [json.loads(got.body)["type"] for got in receiver.received] == ["domain.active"]


def test_a_failure_is_logged_and_retried_later_with_the_same_webhook_id(endpoint, alice, acme, receiver):
    receiver.status, receiver.answer = 500, b"database down"
    domain_create(user=alice, workspace=acme, hostname=HOST)

    (failed,) = deliver_all()

    assert failed.status == DeliveryStatus.PENDING and failed.attempts == 1 and failed.last_error == "HTTP 500"
    assert timedelta(seconds=4) < failed.next_attempt_at - timezone.now() <= timedelta(seconds=5)
    assert failed.attempt_log.get().excerpt == "database down"
    assert deliver_all() == []  # not due yet

    receiver.status = 204
    make_due(failed)
    (retried,) = deliver_all()

    assert retried.status == DeliveryStatus.SUCCEEDED and retried.attempts == 2
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_after_about_a_day_of_failures_the_delivery_is_given_up(endpoint, alice, acme, receiver):
    receiver.status = 503
    domain_create(user=alice, workspace=acme, hostname=HOST)
    assert sum(webhooks.RETRY_SCHEDULE) / 3600 == pytest.approx(27.6, abs=0.1)

    for _ in range(len(webhooks.RETRY_SCHEDULE)):
        (delivery,) = deliver_all()
        make_due(delivery)
    (last,) = deliver_all()

    assert last.status == DeliveryStatus.FAILED and last.attempts == len(webhooks.RETRY_SCHEDULE) + 1
    assert len(receiver.received) == 8 and last.attempt_log.count() == 8


def test_an_endpoint_failing_for_five_days_is_disabled_and_alice_is_emailed(
    endpoint, alice, acme, receiver, smtp_server, django_capture_on_commit_callbacks
):
    receiver.status = 500
    endpoint.failing_since = timezone.now() - timedelta(days=5, minutes=1)
    endpoint.save()
    domain_create(user=alice, workspace=acme, hostname=HOST)

    with django_capture_on_commit_callbacks() as queued:
        deliver_all()

    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "Failing for 5 days"
    email_endpoint_disabled(str(endpoint.pk))
    ((to, message),) = smtp_server.messages
    assert to == ["alice@example.com"] and message["Subject"] == f"Webhook endpoint disabled: {receiver.url}"
    assert len(queued) == 1
    domain_create(user=alice, workspace=acme, hostname=f"shop.{HOST}")
    assert WebhookDelivery.objects.filter(event__hostname=f"shop.{HOST}").count() == 0


def test_a_success_resets_the_failure_clock(endpoint, alice, acme):
    endpoint.failing_since = timezone.now() - timedelta(days=4)
    endpoint.save()
    domain_create(user=alice, workspace=acme, hostname=HOST)
    deliver_all()
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is None


def test_a_delivery_held_by_a_worker_that_died_is_claimed_again_when_its_lease_runs_out(
    endpoint, alice, acme, receiver
):
    domain_create(user=alice, workspace=acme, hostname=HOST)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=30), claim_token=uuid.uuid4()
    )

    assert webhooks.deliveries_due() == 0
    assert webhooks.delivery_attempt(delivery_id=delivery.pk) is None  # another worker holds it
    assert receiver.received == []

    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert webhooks.deliveries_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.claim_token is None
    assert len(receiver.received) == 1


def test_loopback_is_refused_when_the_setting_is_off_and_the_attempt_says_why(
    endpoint, alice, acme, receiver, settings
):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    domain_create(user=alice, workspace=acme, hostname=HOST)
    (delivery,) = deliver_all()
    assert "not a public address" in delivery.last_error and receiver.received == []


def test_the_test_event_and_a_redelivery(endpoint, alice, receiver):
    delivery = webhooks.endpoint_test(user=alice, endpoint=endpoint)
    (done,) = deliver_all()
    assert done.pk == delivery.pk and json.loads(receiver.received[0].body)["type"] == "webhook.test"

    webhooks.delivery_redeliver(user=alice, delivery=done)
    (again,) = deliver_all()
    assert again.attempts == 2 and len(receiver.received) == 2


def test_bob_and_charlie_cannot_manage_acmes_webhooks(bob, charlie, acme, endpoint):
    for user in (bob, charlie):
        with pytest.raises(NotAllowed):
            webhooks.endpoint_create(user=user, workspace=acme, url="https://example.com/", events=[])
        with pytest.raises(NotAllowed):
            webhooks.endpoint_delete(user=user, endpoint=endpoint)


def test_production_refuses_an_http_url(alice, acme, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    with pytest.raises(webhooks.WebhookRefused, match="https"):
        webhooks.endpoint_create(user=alice, workspace=acme, url="http://example.com/hooks", events=[])

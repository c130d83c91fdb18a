"""Webhooks as alice's integration sees them: signed deliveries to a real loopback server, retried, logged, never lost."""

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from domains.models import DomainStatus
from domains.services.lifecycle import SYSTEM, domain_create, domain_transition
from notifications import webhooks
from notifications.models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery
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
    assert not endpoint.enabled and endpoint.disabled_reason == "failing for 5 days"
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


def test_the_sweep_claims_batches_until_nothing_is_due_and_sends_each_delivery_once(
    endpoint, alice, acme, receiver, settings
):
    settings.WEBHOOK_BATCH_SIZE = 3
    for n in range(7):
        domain_create(user=alice, workspace=acme, hostname=f"shop{n}.{HOST}")

    assert webhooks.deliveries_due() == 7
    assert webhooks.deliveries_due() == 0

    webhook_ids = [got.headers["webhook-id"] for got in receiver.received]
    assert len(webhook_ids) == len(set(webhook_ids)) == 7
    assert set(WebhookDelivery.objects.values_list("status", "attempts", "claim_token")) == {
        (DeliveryStatus.SUCCEEDED, 1, None)
    }
    assert WebhookAttempt.objects.count() == 7


def test_a_batch_posts_its_deliveries_at_the_same_time(endpoint, alice, acme, receiver, settings):
    settings.WEBHOOK_CONCURRENCY = 8
    receiver.delay = 0.5  # one after another, 8 would take 4 s
    for n in range(8):
        domain_create(user=alice, workspace=acme, hostname=f"shop{n}.{HOST}")

    started = time.monotonic()
    sent = webhooks.deliveries_send()

    assert len(sent) == 8 and {d.status for d in sent} == {DeliveryStatus.SUCCEEDED}
    assert time.monotonic() - started < 3


def test_a_batch_leases_its_deliveries_for_longer_than_its_longest_possible_run(endpoint, alice, acme, settings):
    settings.WEBHOOK_TIMEOUT, settings.WEBHOOK_CONCURRENCY, settings.WEBHOOK_LEASE_MARGIN = 10, 8, 20
    for n in range(20):
        domain_create(user=alice, workspace=acme, hostname=f"shop{n}.{HOST}")

    _, claimed = webhooks._claim(ids=None, limit=20)

    # 20 POSTs, 8 at a time: three rounds of at most 10 s each, plus the margin.
    lease = min(d.claimed_until for d in claimed) - timezone.now()
    assert len(claimed) == 20 and timedelta(seconds=49) < lease <= timedelta(seconds=50)


def test_a_worker_whose_lease_ran_out_logs_its_attempt_but_leaves_the_delivery_to_the_next_claim(
    endpoint, alice, acme, receiver
):
    domain_create(user=alice, workspace=acme, hostname=HOST)
    delivery = WebhookDelivery.objects.get()
    late_token, (late,) = webhooks._claim(ids=[delivery.pk], limit=1)
    late_outcome = webhooks._post(late)  # a slow worker: its POST ends after its lease

    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    receiver.status = 500
    assert webhooks.delivery_attempt(delivery_id=delivery.pk).attempts == 1  # the next claim: sent and recorded
    assert webhooks._record(token=late_token, outcomes=[late_outcome]) == []

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.PENDING, 1, "HTTP 500")
    assert sorted(a.status_code for a in delivery.attempt_log.all()) == [200, 500]


def test_a_success_and_a_later_failure_in_one_batch_start_the_endpoints_failure_clock(endpoint, alice, acme, receiver):
    domain_create(user=alice, workspace=acme, hostname=HOST)
    domain_create(user=alice, workspace=acme, hostname=f"shop.{HOST}")
    token, (first, second) = webhooks._claim(ids=None, limit=2)
    succeeded = webhooks._post(first)
    receiver.status = 500
    failed = webhooks._post(second)

    webhooks._record(token=token, outcomes=[succeeded, failed])

    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.enabled


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_the_same_deliveries_send_each_of_them_once(alice, acme, receiver, loopback_allowed):
    if connection.vendor == "sqlite":
        pytest.skip("the test database is in memory; test_worker_end_to_end races two processes on a SQLite file")
    endpoint = webhooks.endpoint_create(user=alice, workspace=acme, url=receiver.url, events=[])
    now = timezone.now()
    events = Event.objects.bulk_create(
        Event(workspace=acme, hostname=f"shop{n}.{HOST}", type="domain.active", payload={"n": n}) for n in range(60)
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now) for event in events
    )
    ids = [delivery.pk for delivery in deliveries]
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        try:
            while webhooks.deliveries_send(ids=ids, limit=5):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    webhook_ids = [got.headers["webhook-id"] for got in receiver.received]
    assert len(webhook_ids) == len(set(webhook_ids)) == 60, "a delivery was sent twice or not at all"
    assert WebhookAttempt.objects.filter(delivery__endpoint=endpoint).count() == 60

"""Webhook writes: endpoints (owners and admins), the fan-out of an event, and one delivery attempt (the worker's).

Deliveries are rows written with their event, so a lost task or a killed worker
loses nothing: the sweep hands out every due delivery whose lease has run out.
Receivers dedupe by `webhook-id`, which stays the same across retries.
"""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from domains.enqueue import enqueue_on_commit
from notifications import http, signing
from notifications.models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from workspaces.models import Workspace
from workspaces.roles import require_manager

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.webhook_deliver"
DISABLED_EMAIL_TASK = "notifications.email_endpoint_disabled"
# Seconds to wait before each retry: about a day in all, then the delivery is given up.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
DISABLED_REASON = "Failing for 5 days"
ACTION = "manage its webhooks"


class WebhookRefused(ValueError):
    """The endpoint's URL cannot be used (scheme, credentials, host)."""


def _clean_url(url: str) -> str:
    if problem := http.url_problem(url):
        raise WebhookRefused(problem)
    return url


def endpoint_create(
    *, user: AbstractBaseUser, workspace: Workspace, url: str, events: list[str], description: str = ""
) -> WebhookEndpoint:
    """A new endpoint with a fresh `whsec_` secret (owners and admins); the caller shows the secret once."""
    require_manager(user=user, workspace=workspace, action=ACTION)
    with transaction.atomic():
        return WebhookEndpoint.objects.create(
            workspace=workspace,
            url=_clean_url(url),
            events=sorted(set(events)),
            description=description,
            secret=signing.secret_generate(),
        )


def endpoint_update(*, user: AbstractBaseUser, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """Change url, events, description or enabled (owners and admins); enabling again clears the failure clock."""
    require_manager(user=user, workspace=endpoint.workspace, action=ACTION)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if "url" in changes:
            locked.url = _clean_url(changes["url"])
        if "events" in changes:
            locked.events = sorted(set(changes["events"]))
        if "description" in changes:
            locked.description = changes["description"]
        if "enabled" in changes and changes["enabled"] != locked.enabled:
            locked.enabled = changes["enabled"]
            locked.disabled_reason = "" if locked.enabled else "Disabled by a person"
            locked.failing_since = None
        locked.save()
    return locked


def endpoint_delete(*, user: AbstractBaseUser, endpoint: WebhookEndpoint) -> None:
    require_manager(user=user, workspace=endpoint.workspace, action=ACTION)
    with transaction.atomic():
        endpoint.delete()


def deliveries_fan_out(*, event: Event) -> list[WebhookDelivery]:
    """One delivery per enabled endpoint of the event's workspace that wants its type; in the event's transaction."""
    now = timezone.now()
    deliveries = [
        WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now)
        for endpoint in WebhookEndpoint.objects.filter(workspace_id=event.workspace_id, enabled=True)
        if endpoint.wants(event.type)
    ]
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        enqueue_on_commit(DELIVER_TASK, delivery.pk, host=event.hostname)
    return deliveries


def endpoint_test(*, user: AbstractBaseUser, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a `webhook.test` event to this endpoint only (owners and admins)."""
    require_manager(user=user, workspace=endpoint.workspace, action=ACTION)
    with transaction.atomic():
        now = timezone.now()
        event = Event.objects.create(
            workspace_id=endpoint.workspace_id,
            hostname="",
            type="webhook.test",
            payload={"type": "webhook.test", "timestamp": now.isoformat(), "data": {"endpoint_id": str(endpoint.pk)}},
            created_at=now,
        )
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=now)
        enqueue_on_commit(DELIVER_TASK, delivery.pk)
    return delivery


def delivery_redeliver(*, user: AbstractBaseUser, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, same `webhook-id` (owners and admins)."""
    require_manager(user=user, workspace=delivery.endpoint.workspace, action=ACTION)
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = timezone.now()
        locked.claimed_until = None
        locked.save()
        enqueue_on_commit(DELIVER_TASK, locked.pk)
    return locked


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Lease a due pending delivery to this worker; None if it is not due, done, gone or leased."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint", "event")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None or (delivery.claimed_until and delivery.claimed_until > now):
            return None
        delivery.claimed_until = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT + settings.WEBHOOK_LEASE_MARGIN)
        delivery.save(update_fields=["claimed_until"])
    return delivery


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Make the next attempt of one delivery and log it; schedules the retry or gives up."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint, event = delivery.endpoint, delivery.event
    started = timezone.now()
    status_code, excerpt, error, latency_ms = None, "", "", 0
    if not endpoint.enabled:
        error = "The endpoint is disabled."
    else:
        body = json.dumps(event.payload, separators=(",", ":")).encode()
        headers = signing.headers(
            secret=endpoint.secret, message_id=event.message_id, timestamp=int(started.timestamp()), body=body
        )
        try:
            answer = http.post(url=endpoint.url, body=body, headers=headers)
            status_code, excerpt, latency_ms = answer.status, answer.excerpt, answer.latency_ms
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except (http.DeliveryRefused, http.DeliveryFailed) as exc:
            error = str(exc)[:500]
            latency_ms = int((timezone.now() - started).total_seconds() * 1000)
    return _record(
        delivery=delivery, started=started, status_code=status_code, excerpt=excerpt, error=error, latency_ms=latency_ms
    )


def _record(*, delivery, started, status_code, excerpt, error, latency_ms) -> WebhookDelivery:
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            started_at=started,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
            excerpt=excerpt,
        )
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=locked.endpoint_id)
        locked.attempts += 1
        locked.last_status_code = status_code
        locked.last_error = error
        locked.claimed_until = None
        if not error:
            locked.status = DeliveryStatus.SUCCEEDED
            locked.delivered_at = now
            locked.next_attempt_at = None
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since", "updated_at"])
        else:
            if locked.attempts > len(RETRY_SCHEDULE) or not endpoint.enabled:
                locked.status = DeliveryStatus.FAILED
                locked.next_attempt_at = None
            else:
                locked.next_attempt_at = now + timedelta(seconds=RETRY_SCHEDULE[locked.attempts - 1])
            _endpoint_failed(endpoint=endpoint, now=now)
        locked.save()
    logger.info(
        "webhook attempt",
        extra={"delivery": locked.pk, "status_code": status_code, "error": error, "latency_ms": latency_ms},
    )
    return locked


def _endpoint_failed(*, endpoint: WebhookEndpoint, now) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif endpoint.enabled and now - endpoint.failing_since >= timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
        endpoint.enabled = False
        endpoint.disabled_reason = DISABLED_REASON
        logger.warning("webhook endpoint disabled", extra={"endpoint": str(endpoint.pk)})
        enqueue_on_commit(DISABLED_EMAIL_TASK, str(endpoint.pk))
    endpoint.save(update_fields=["failing_since", "enabled", "disabled_reason", "updated_at"])


def deliveries_due() -> int:
    """Queue every due delivery no worker holds (after a lost task, a killed worker, or for its retry)."""
    now = timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .exclude(claimed_until__gt=now)
        .values_list("pk", flat=True)[:1000]
    )
    for pk in due:
        enqueue_on_commit(DELIVER_TASK, pk)
    return len(due)

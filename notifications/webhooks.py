"""Webhook writes: endpoints (owners and admins), the fan-out of an event, and delivery attempts (the worker's).

Deliveries are rows written with their event, so a lost task or a killed worker
loses nothing: the sweep claims every due delivery whose lease has run out.
Receivers dedupe by `webhook-id`, which stays the same across retries.
"""

import json
import logging
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
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
# Why an endpoint is disabled, worded to follow "Disabled: " on the pages and to stand alone in the API's disabled_reason.
TURNED_OFF_REASON = "turned off by an owner or admin"
ACTION = "manage its webhooks"
# Results of a batch are written at least this often (seconds), so one slow receiver does not hold back the rest.
RECORD_EVERY = 0.5
RECORDED_FIELDS = [
    "attempts",
    "last_status_code",
    "last_error",
    "claimed_until",
    "claim_token",
    "status",
    "delivered_at",
    "next_attempt_at",
]


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
            locked.disabled_reason = "" if locked.enabled else TURNED_OFF_REASON
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
        # A worker still sending the previous attempt logs it but leaves the delivery to this one.
        locked.claimed_until, locked.claim_token = None, None
        locked.save()
        enqueue_on_commit(DELIVER_TASK, locked.pk)
    return locked


def _lease(*, batch_size: int) -> timedelta:
    """Longer than the longest batch of this size: every POST ends within WEBHOOK_TIMEOUT, CONCURRENCY at a time."""
    rounds = math.ceil(batch_size / max(settings.WEBHOOK_CONCURRENCY, 1))
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT * rounds + settings.WEBHOOK_LEASE_MARGIN)


def _claim(*, ids: Sequence[int] | None, limit: int) -> tuple[uuid.UUID, list[WebhookDelivery]]:
    """Lease up to `limit` due pending deliveries (of `ids`, or any, oldest due first) to this worker.

    One conditional UPDATE stamps the rows with a fresh token; the rows read
    back with that token are ours alone. A row another claimer stamped first
    no longer matches the WHERE clause (SQLite runs one writer at a time;
    PostgreSQL re-checks it on the locked row), so no delivery is ever
    claimed twice while a lease holds.
    """
    now = timezone.now()
    token = uuid.uuid4()
    due = WebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
    )
    chosen = due if ids is None else due.filter(pk__in=ids)
    with transaction.atomic():
        claimed = due.filter(pk__in=chosen.order_by("next_attempt_at").values("pk")[:limit]).update(
            claimed_until=now + _lease(batch_size=limit), claim_token=token
        )
    if not claimed:
        return token, []
    return token, list(WebhookDelivery.objects.filter(claim_token=token).select_related("endpoint", "event"))


@dataclass
class _Outcome:
    delivery: WebhookDelivery
    started: datetime
    finished: float = 0.0  # monotonic, to order one endpoint's outcomes
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    latency_ms: int = 0


def _post(delivery: WebhookDelivery) -> _Outcome:
    """One POST (in a pool thread: no database here, the endpoint and event were read with the claim)."""
    endpoint, event = delivery.endpoint, delivery.event
    outcome = _Outcome(delivery=delivery, started=timezone.now())
    if not endpoint.enabled:
        outcome.error = "The endpoint is disabled."
    else:
        body = json.dumps(event.payload, separators=(",", ":")).encode()
        headers = signing.headers(
            secret=endpoint.secret, message_id=event.message_id, timestamp=int(outcome.started.timestamp()), body=body
        )
        try:
            answer = http.post(url=endpoint.url, body=body, headers=headers)
            outcome.status_code, outcome.excerpt, outcome.latency_ms = answer.status, answer.excerpt, answer.latency_ms
            if not 200 <= answer.status < 300:
                outcome.error = f"HTTP {answer.status}"
        except (http.DeliveryRefused, http.DeliveryFailed) as exc:
            outcome.error = str(exc)[:500]
            outcome.latency_ms = int((timezone.now() - outcome.started).total_seconds() * 1000)
    outcome.finished = time.monotonic()
    return outcome


def deliveries_send(*, ids: Sequence[int] | None = None, limit: int | None = None) -> list[WebhookDelivery]:
    """Claim up to `limit` due deliveries (of `ids`, or any), POST them concurrently, log every attempt.

    The one path of every attempt: the task queued after an event is a batch
    of one, the sweep claims batches of WEBHOOK_BATCH_SIZE. POSTs run
    WEBHOOK_CONCURRENCY at a time; their results are recorded a handful of
    transactions per batch, as they come in. Returns the deliveries recorded
    (those whose claim still held), in the order their attempts ended.
    """
    limit = limit or (len(ids) if ids is not None else settings.WEBHOOK_BATCH_SIZE)
    token, claimed = _claim(ids=ids, limit=limit)
    if not claimed:
        return []
    recorded: list[WebhookDelivery] = []
    if len(claimed) == 1:
        return _record(token=token, outcomes=[_post(claimed[0])])
    workers = min(settings.WEBHOOK_CONCURRENCY, len(claimed))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook-post") as pool:
        pending = {pool.submit(_post, delivery) for delivery in claimed}
        ended: list[_Outcome] = []
        last_write = time.monotonic()
        while pending:
            done, pending = wait(pending, timeout=RECORD_EVERY, return_when=FIRST_COMPLETED)
            ended.extend(future.result() for future in done)
            # A round's worth, the last ones, or what waited long enough: one transaction for all of them.
            if ended and (len(ended) >= workers or not pending or time.monotonic() - last_write >= RECORD_EVERY):
                recorded.extend(_record(token=token, outcomes=ended))
                ended, last_write = [], time.monotonic()
    return recorded


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """The next attempt of one delivery (a batch of one); None if it is not due, done, gone or leased."""
    recorded = deliveries_send(ids=[delivery_id])
    return recorded[0] if recorded else None


def deliveries_due(*, budget: float | None = None) -> int:
    """The sweep: send due deliveries no lease holds (retries, lost tasks, killed workers), batch after batch.

    Stops when a batch comes back short or after `budget` seconds (the sweep
    period), leaving the rest to the next sweep. Returns how many were attempted.
    """
    budget = settings.WEBHOOK_SWEEP_PERIOD if budget is None else budget
    started = time.monotonic()
    attempted = 0
    while True:
        batch = deliveries_send(limit=settings.WEBHOOK_BATCH_SIZE)
        attempted += len(batch)
        if len(batch) < settings.WEBHOOK_BATCH_SIZE or time.monotonic() - started >= budget:
            return attempted


def _record(*, token: uuid.UUID, outcomes: list[_Outcome]) -> list[WebhookDelivery]:
    """Log these attempts and move their deliveries on (success, retry or give up), in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        rows = {
            row.pk: row
            for row in WebhookDelivery.objects.select_for_update().filter(pk__in=[o.delivery.pk for o in outcomes])
        }
        outcomes = [o for o in outcomes if o.delivery.pk in rows]  # a delivery deleted meanwhile has no log left
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery_id=o.delivery.pk,
                started_at=o.started,
                status_code=o.status_code,
                latency_ms=o.latency_ms,
                error=o.error,
                excerpt=o.excerpt,
            )
            for o in outcomes
        )
        endpoints = WebhookEndpoint.objects.select_for_update().in_bulk({row.endpoint_id for row in rows.values()})
        for endpoint in endpoints.values():
            _endpoint_clock(
                endpoint=endpoint,
                outcomes=[o for o in outcomes if rows[o.delivery.pk].endpoint_id == endpoint.pk],
                now=now,
            )
        recorded, changes = [], defaultdict(list)
        for o in outcomes:
            row = rows[o.delivery.pk]
            if row.claim_token != token:
                # Our lease ran out and another claim took the delivery: the attempt is logged, its state is theirs.
                logger.warning("webhook lease lost before recording", extra={"delivery": row.pk})
                continue
            row.attempts += 1
            row.last_status_code, row.last_error = o.status_code, o.error
            row.claimed_until, row.claim_token = None, None
            if not o.error:
                row.status, row.delivered_at, row.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
            elif row.attempts > len(RETRY_SCHEDULE) or not endpoints[row.endpoint_id].enabled:
                row.status, row.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                row.next_attempt_at = now + timedelta(seconds=RETRY_SCHEDULE[row.attempts - 1])
            recorded.append(row)
            # Rows that end alike share one UPDATE: a batch is a handful of statements, not one per delivery.
            changes[tuple(getattr(row, field) for field in RECORDED_FIELDS)].append(row.pk)
        for values, pks in changes.items():
            WebhookDelivery.objects.filter(pk__in=pks).update(**dict(zip(RECORDED_FIELDS, values, strict=True)))
    for o in outcomes:
        logger.info(
            "webhook attempt",
            extra={
                "delivery": o.delivery.pk,
                "status_code": o.status_code,
                "error": o.error,
                "latency_ms": o.latency_ms,
            },
        )
    return recorded


def _endpoint_clock(*, endpoint: WebhookEndpoint, outcomes: list[_Outcome], now) -> None:
    """Once per endpoint and transaction: a success stops the failure clock, a failure after it starts it."""
    last_success = max((o.finished for o in outcomes if not o.error), default=None)
    failed_since = any(o.error and (last_success is None or o.finished > last_success) for o in outcomes)
    if last_success is not None and endpoint.failing_since is not None:
        endpoint.failing_since = None
        if not failed_since:
            endpoint.save(update_fields=["failing_since", "updated_at"])
    if failed_since:
        _endpoint_failed(endpoint=endpoint, now=now)


def disabled_reason() -> str:
    """The tail of "Disabled: …" for an endpoint the failure clock turned off."""
    return f"failing for {settings.WEBHOOK_DISABLE_AFTER_DAYS} days"


def _endpoint_failed(*, endpoint: WebhookEndpoint, now) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif endpoint.enabled and now - endpoint.failing_since >= timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
        endpoint.enabled = False
        endpoint.disabled_reason = disabled_reason()
        logger.warning("webhook endpoint disabled", extra={"endpoint": str(endpoint.pk)})
        enqueue_on_commit(DISABLED_EMAIL_TASK, str(endpoint.pk))
    endpoint.save(update_fields=["failing_since", "enabled", "disabled_reason", "updated_at"])

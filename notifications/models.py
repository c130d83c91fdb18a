"""The domain event outbox: one row per creation, status change and deletion, written in the change's transaction."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from domains.hostnames import to_unicode


class Event(models.Model):
    """Something that happened to a domain, as integrations will be told it (kept EVENT_RETENTION_DAYS).

    `payload` is the Standard Webhooks body: {"type", "timestamp", "data":
    {the API's domain object, "previous_status"}}; `id` is its stable message id.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="notification_events")
    domain = models.ForeignKey(
        "domains.Domain", null=True, blank=True, on_delete=models.SET_NULL, related_name="notification_events"
    )
    hostname = models.CharField(max_length=253)
    type = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["domain", "-created_at"], name="notif_event_domain_recent")]

    def __str__(self) -> str:
        return f"{self.type} {to_unicode(self.hostname)}"

    @property
    def message_id(self) -> str:
        """The id receivers see (webhook-id), stable across retries."""
        return f"msg_{self.id.hex}"


class WebhookEndpoint(models.Model):
    """Where a workspace's integration wants events: a URL, an optional type filter, a signing secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="Event types to send; empty sends every type.")
    secret = models.CharField(max_length=64, editable=False)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure since the last success.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Gave up"


class WebhookDelivery(models.Model):
    """One event for one endpoint, retried until a 2xx or the schedule ends; written with the event (outbox)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A worker's lease on the next attempt.")
    # Which claim holds the lease: set with claimed_until by one conditional UPDATE, so a claimer reads back
    # exactly the rows it won, and a worker whose lease ran out cannot record over the next claimer's attempt.
    claim_token = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notif_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.url} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST: what came back (or why nothing did), and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    excerpt = models.TextField(blank=True, help_text="The start of the answer (a few KB at most).")

    class Meta:
        ordering = ["-started_at", "-id"]


class EmailPreference(models.Model):
    """A person's choice about domain e-mails; without a row, owners and admins get them and members do not."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference")
    domain_emails = models.BooleanField(default=True, help_text="E-mail me when my workspaces' domains change.")
    updated_at = models.DateTimeField(auto_now=True)

"""The domain event outbox: one row per creation, status change and deletion, written in the change's transaction."""

import uuid

from django.db import models
from django.utils import timezone


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
        return f"{self.type} {self.hostname}"

    @property
    def message_id(self) -> str:
        """The id receivers see (webhook-id), stable across retries."""
        return f"msg_{self.id.hex}"

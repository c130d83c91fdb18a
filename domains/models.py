"""A custom domain's state, its history, its checks, and the edge outbox."""

import base64
import secrets
import uuid

from django.conf import settings
from django.db import models

from domains.edge.states import EdgeState


def new_domain_token() -> str:
    """128 random bits as 26 lowercase base32 characters: a valid DNS label."""
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


class DomainStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    MISCONFIGURED = "misconfigured", "Misconfigured"
    FAILED = "failed", "Failed"
    SUSPENDED = "suspended", "Suspended"


# Statuses the edge serves: misconfigured keeps serving during its grace period.
SERVABLE_STATUSES = frozenset({DomainStatus.ACTIVE, DomainStatus.MISCONFIGURED})
# Statuses on the automatic check schedule.
CHECKED_STATUSES = frozenset({DomainStatus.PENDING, DomainStatus.ACTIVE, DomainStatus.MISCONFIGURED})


class Domain(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, unique=True, help_text="Normalised ASCII (punycode) form.")
    display_hostname = models.CharField(max_length=253, help_text="Unicode form shown to people.")
    status = models.CharField(max_length=16, choices=DomainStatus.choices, default=DomainStatus.PENDING, db_index=True)
    token = models.CharField(max_length=32, unique=True, default=new_domain_token, editable=False)
    target = models.CharField(
        max_length=253, unique=True, editable=False, help_text="The domain's unique CNAME target."
    )
    is_apex = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Scheduling.
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker holds this domain's check until then."
    )
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_outcome = models.CharField(max_length=16, blank=True)
    last_manual_check_at = models.DateTimeField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True, help_text="Start of the current wait for DNS proof.")
    verified_at = models.DateTimeField(null=True, blank=True)
    grace_until = models.DateTimeField(null=True, blank=True)

    # Grows with every change of what the edge should serve for this hostname.
    edge_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["hostname"]
        indexes = [models.Index(fields=["status", "next_check_at"], name="domain_due_idx")]

    def __str__(self) -> str:
        return self.hostname

    def save(self, *args, **kwargs):
        if not self.target:
            self.target = f"{self.token}.{settings.CNAME_ZONE}"
        super().save(*args, **kwargs)

    @property
    def is_servable(self) -> bool:
        return self.status in SERVABLE_STATUSES

    @property
    def verify_record_name(self) -> str:
        """Where the TXT ownership token lives."""
        return f"_ve-verify.{self.hostname}"


class ActorKind(models.TextChoices):
    USER = "user", "User"
    STAFF = "staff", "Support staff"
    SYSTEM = "system", "System"


class DomainEvent(models.Model):
    """One transition in a domain's life. Kept after the domain is deleted."""

    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="domain_events")
    hostname = models.CharField(max_length=253)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True, help_text="Empty when the domain was deleted.")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.hostname}: {self.from_status or '∅'} → {self.to_status or 'deleted'}"


class CheckOutcome(models.TextChoices):
    VERIFIED = "verified", "Verified"
    WRONG_TARGET = "wrong_target", "Points elsewhere"
    MISSING = "missing", "No record"
    TOKEN_MISSING = "token_missing", "Verification token missing"
    TRANSIENT = "transient", "DNS unreachable"


class DomainCheck(models.Model):
    """What one DNS check expected, found, and concluded."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=16, choices=CheckOutcome.choices)
    expected = models.JSONField(default=dict)
    found = models.JSONField(default=list)
    message = models.TextField(blank=True)
    manual = models.BooleanField(default=False, help_text="Asked for by a person rather than the schedule.")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.outcome} at {self.checked_at:%Y-%m-%d %H:%M:%S}"


class EdgeOutbox(models.Model):
    """A change of what the edge should serve, written in the same transaction as the change.

    Rows outlive their domain (a deletion must still reach the edge), so they
    carry the hostname and workspace rather than a foreign key.
    """

    hostname = models.CharField(max_length=253, db_index=True)
    workspace_public_id = models.CharField(max_length=32)
    version = models.PositiveBigIntegerField()
    state = models.CharField(max_length=8, choices=EdgeState.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "edge outbox"

    def __str__(self) -> str:
        return f"{self.hostname} v{self.version} {self.state}"

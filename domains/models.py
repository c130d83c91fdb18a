"""A custom domain's state, its history, its checks, and the edge outbox."""

import base64
import secrets
import uuid

from django.conf import settings
from django.db import IntegrityError, models, transaction

from domains.cdn.states import CertificateStatus, TenantGoal
from domains.edge.states import EdgeState
from domains.hostnames import to_unicode_with_ascii


def new_domain_token() -> str:
    """128 random bits as 26 lowercase base32 characters: a valid DNS label."""
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


class DomainStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # DNS proven; its CloudFront tenant and HTTPS certificate are on their way (only with CloudFront on).
    PROVISIONING = "provisioning", "Setting up HTTPS"
    ACTIVE = "active", "Active"
    MISCONFIGURED = "misconfigured", "Misconfigured"
    FAILED = "failed", "Failed"
    SUSPENDED = "suspended", "Suspended"


# Statuses the edge serves: misconfigured keeps serving during its grace period, and a
# provisioning domain is served over HTTP so that CloudFront can validate its certificate.
SERVABLE_STATUSES = frozenset({DomainStatus.PROVISIONING, DomainStatus.ACTIVE, DomainStatus.MISCONFIGURED})
# Statuses on the automatic DNS check schedule (a provisioning domain's certificate is polled instead).
CHECKED_STATUSES = frozenset({DomainStatus.PENDING, DomainStatus.ACTIVE, DomainStatus.MISCONFIGURED})
# Statuses in which a domain holds its hostname: DNS control was proven (and the
# domain may be served), or support suspended it (the hostname is blocked). At
# most one domain per hostname holds it (a partial unique index); pending and
# failed domains are unproven claims, and several workspaces may hold those at once.
HOLDING_STATUSES = frozenset(
    {DomainStatus.PROVISIONING, DomainStatus.ACTIVE, DomainStatus.MISCONFIGURED, DomainStatus.SUSPENDED}
)


class Domain(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, db_index=True, help_text="Normalised ASCII (punycode) form.")
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
    suspension_message = models.TextField(
        blank=True,
        help_text="What the tenant reads about a suspension; empty shows a neutral default. "
        "Support's internal note is the suspension event's reason, never shown to the tenant.",
    )

    # The hostname's edge version (Hostname.edge_version) when this domain last changed what the
    # edge holds; 0 while the edge never heard of it.
    edge_version = models.PositiveBigIntegerField(default=0)
    # edge_function.shards.shard_hash(hostname): a shard is a range of it (filled when the edge
    # hears of the domain; domains.edge.shards fills any row still without one).
    edge_shard_hash = models.PositiveBigIntegerField(null=True, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ["hostname"]
        indexes = [models.Index(fields=["status", "next_check_at"], name="domain_due_idx")]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "hostname"], name="domain_one_claim_per_workspace"),
            # Two workspaces proving one hostname at the same moment: exactly one wins.
            models.UniqueConstraint(
                fields=["hostname"],
                condition=models.Q(status__in=sorted(status.value for status in HOLDING_STATUSES)),
                name="domain_one_holder_per_hostname",
            ),
        ]

    def __str__(self) -> str:
        return to_unicode_with_ascii(self.hostname)  # the admin's titles, links and labels

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

    @property
    def holds_hostname(self) -> bool:
        return self.status in HOLDING_STATUSES


class HostnameManager(models.Manager):
    def lock(self, hostname: str) -> "Hostname":
        """The hostname's row, created if need be, locked until the caller's transaction ends.

        Every change to a domain's claim on a hostname takes this lock before
        any domain row (adding, checking, moving status, deleting, suspending),
        so claims of several workspaces on one hostname are decided one at a time.
        """
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("lock a hostname inside the transaction that changes its domains")
        row = self.select_for_update().filter(hostname=hostname).first()
        if row is None:
            try:
                with transaction.atomic():  # a savepoint: a concurrent insert may win
                    self.create(hostname=hostname)
            except IntegrityError:
                pass
            row = self.select_for_update().get(hostname=hostname)
        return row


class Hostname(models.Model):
    """One row per hostname the portal has ever held a domain for; it outlives the domains.

    It carries the hostname's edge version, which only grows (bumped under
    this row's lock by domains.edge.outbox), so a hostname deleted and added
    again gets higher versions whatever the clocks of the processes say. Its
    row lock (Hostname.objects.lock) serialises the claims on the hostname.
    """

    hostname = models.CharField(max_length=253, primary_key=True)
    edge_version = models.PositiveBigIntegerField(default=0)

    objects = HostnameManager()

    def __str__(self) -> str:
        return f"{self.hostname} v{self.edge_version}"


class HostnameBlock(models.Model):
    """Support suspended a domain of this hostname: nobody may add or prove it until support lifts the block.

    The block belongs to the hostname, not to the domain: deleting the
    suspended domain leaves it in force. Lifted blocks are kept as the record
    of who lifted them, when and why.
    """

    hostname = models.CharField(max_length=253, db_index=True)
    domain = models.ForeignKey(
        Domain, null=True, blank=True, on_delete=models.SET_NULL, related_name="blocks", help_text="The suspended one."
    )
    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500)
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    blocked_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lift_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-blocked_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["hostname"], condition=models.Q(lifted_at__isnull=True), name="hostname_one_active_block"
            )
        ]

    def __str__(self) -> str:
        return f"{to_unicode_with_ascii(self.hostname)} ({'lifted' if self.lifted_at else 'blocked'})"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class CdnTenant(models.Model):
    """A domain's CloudFront distribution tenant: what the portal wants it to be, and what CloudFront last said.

    The goal is written in the same transaction as the domain's status change
    (domains.cdn.intent), so it is an outbox: a worker converges CloudFront to
    it, and a sweep resumes whatever a crash or an outage left unfinished. The
    row outlives its domain (a deleted domain's tenant must still be disabled
    and deleted), so it carries the hostname and workspace itself.
    """

    domain = models.OneToOneField(Domain, null=True, blank=True, on_delete=models.SET_NULL, related_name="cdn_tenant")
    hostname = models.CharField(max_length=253, db_index=True)
    workspace_public_id = models.CharField(max_length=32)
    name = models.CharField(max_length=128, unique=True, help_text="The tenant's Name at CloudFront.")
    generation = models.PositiveIntegerField(default=1, help_text="Bumped when a deleted tenant must be made anew.")
    tenant_id = models.CharField(max_length=64, blank=True, db_index=True, help_text="CloudFront's id, once known.")

    # What the portal wants; `revision` grows with every change of it, so a worker that talked to
    # CloudFront meanwhile can tell that its conclusions are out of date.
    goal = models.CharField(max_length=8, choices=TenantGoal.choices, default=TenantGoal.ENABLED)
    revision = models.PositiveIntegerField(default=1)
    request_certificate = models.BooleanField(default=False, help_text="A new certificate must be requested.")
    invalidate = models.BooleanField(default=False, help_text="Its cached objects must be invalidated.")
    provisioning_since = models.DateTimeField(null=True, blank=True, help_text="Start of the current wait for HTTPS.")

    # What CloudFront said last.
    enabled = models.BooleanField(null=True, blank=True)
    certificate_status = models.CharField(max_length=24, blank=True, choices=CertificateStatus.choices)
    certificate_arn = models.CharField(max_length=2048, blank=True)
    certificate_attached = models.BooleanField(default=False)
    certificate_issued_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True, help_text="Why HTTPS stopped, for people.")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="The tenant is gone from CloudFront.")
    synced_at = models.DateTimeField(null=True, blank=True)

    # The worker's schedule: polls back off while a certificate is pending; errors back off too.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0, help_text="Certificate polls since it was requested.")
    attempts = models.PositiveIntegerField(default=0, help_text="Failed calls in a row.")
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hostname", "id"]
        verbose_name = "CloudFront tenant"

    def __str__(self) -> str:
        return f"{to_unicode_with_ascii(self.hostname)} ({self.tenant_id or self.name}, {self.goal})"

    @property
    def is_live(self) -> bool:
        """CloudFront serves the hostname over HTTPS: enabled, with its certificate issued and attached."""
        return (
            self.goal == TenantGoal.ENABLED
            and bool(self.enabled)
            and self.certificate_status == CertificateStatus.ISSUED
            and self.certificate_attached
        )


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
        return f"{to_unicode_with_ascii(self.hostname)}: {self.from_status or '∅'} → {self.to_status or 'deleted'}"


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
        return f"{to_unicode_with_ascii(self.hostname)} v{self.version} {self.state}"


class EdgeShard(models.Model):
    """One shard of the edge's host map (domains.edge.shards): what DynamoDB holds, and whether it must be rebuilt.

    A change marks its shard in the same transaction (an EdgeShardMark); a
    build claims it (a new `version`), reads the servable domains of the shard
    and writes them, and records here what was written: `content` (the base of
    the next build's delta) at `written_version`. `dirty_since` is the
    builder's own flag (a failed write, a repair, a new count).
    """

    count = models.PositiveIntegerField(help_text="How many shards there are (EDGE_SHARD_COUNT when built).")
    index = models.PositiveIntegerField()
    version = models.PositiveBigIntegerField(default=0, help_text="The highest version a build was given.")
    written_version = models.PositiveBigIntegerField(default=0, help_text="The version DynamoDB holds (0: none).")
    dirty_since = models.DateTimeField(
        null=True, blank=True, help_text="Must be built again (a failed write, a repair, a new count)."
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_build_at = models.DateTimeField(null=True, blank=True, help_text="Debounce and back-off.")
    attempts = models.PositiveIntegerField(default=0, help_text="Failed writes in a row.")
    last_error = models.CharField(max_length=500, blank=True)
    hosts = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0, help_text="Bytes of compressed data.")
    digest = models.CharField(max_length=32, blank=True)
    content = models.BinaryField(default=b"", blank=True)
    deltas = models.JSONField(default=list, blank=True, help_text="Recent changes, listed in the head.")
    written_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["count", "index"]
        constraints = [models.UniqueConstraint(fields=["count", "index"], name="edge_shard_one_per_index")]

    def __str__(self) -> str:
        return f"shard {self.index}/{self.count} v{self.written_version}"


class EdgeShardMark(models.Model):
    """A change to a hostname of shard `index` (of `count`) that no build has read yet.

    Inserted in the change's own transaction and never updated, so concurrent
    changes never wait on one another (an update of a shared row could lock two
    shards in opposite orders); a build deletes the marks it has seen.
    """

    count = models.PositiveIntegerField()
    index = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["count", "index"], name="edge_shard_mark_idx")]

    def __str__(self) -> str:
        return f"shard {self.index}/{self.count} changed at {self.created_at:%Y-%m-%d %H:%M:%S}"


class EdgeShardHead(models.Model):
    """The one row behind the head item: its version, and whether it must be written again."""

    version = models.PositiveBigIntegerField(default=0)
    written_version = models.PositiveBigIntegerField(default=0)
    count = models.PositiveIntegerField(default=0, help_text="The shard count the written head names.")
    count_since = models.DateTimeField(null=True, blank=True)
    dirty = models.BooleanField(default=False)
    last_error = models.CharField(max_length=500, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"head v{self.written_version} ({self.count} shards)"

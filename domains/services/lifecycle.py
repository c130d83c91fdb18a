"""A domain's life: added, deleted, retried, and domain_transition, the one path every status change takes."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from domains.cdn.intent import cdn_change_record
from domains.edge.outbox import edge_change_record
from domains.enqueue import enqueue_on_commit
from domains.errors import HostnameBlocked, HostnameTaken, InvalidHostname, InvalidTransition, WorkspaceLimitReached
from domains.hostnames import is_apex, normalize_hostname, to_unicode
from domains.models import (
    HOLDING_STATUSES,
    ActorKind,
    Domain,
    DomainEvent,
    DomainStatus,
    Hostname,
    HostnameBlock,
)
from domains.signals import DOMAIN_CREATED, DOMAIN_DELETED, domain_changed, status_event_type
from workspaces.models import Workspace
from workspaces.roles import require_manager

logger = logging.getLogger(__name__)

# What other workspaces are told; none of these ever names the workspace concerned.
TAKEN_MESSAGE = "This hostname is already connected to another workspace."
BLOCKED_MESSAGE = "This hostname is blocked by VE.AI support and cannot be added. Contact support to lift the block."
# Why an unproven claim ended failed.
OTHER_PROVED_MESSAGE = "Another workspace proved ownership of this hostname."
BLOCKED_REASON = "VE.AI support blocked this hostname."
CHECK_TASK = "domains.check_domain"


@dataclass(frozen=True)
class Actor:
    """Who caused a change: a tenant's user, a support staff member, or the system."""

    kind: ActorKind
    user: AbstractBaseUser | None = None

    @classmethod
    def tenant(cls, user: AbstractBaseUser) -> "Actor":
        return cls(ActorKind.USER, user)

    @classmethod
    def staff(cls, user: AbstractBaseUser) -> "Actor":
        return cls(ActorKind.STAFF, user)


SYSTEM = Actor(ActorKind.SYSTEM)
# Support staff act on any workspace's domains with this model permission.
STAFF_PERMISSION = "domains.change_domain"


def event_record(*, domain: Domain, actor: Actor, from_status: str, to_status: str, reason: str) -> DomainEvent:
    """Write one DomainEvent (an empty `to_status` means deleted) and its log line."""
    logger.info(
        "domain %s",
        to_status or "deleted",
        extra={"host": domain.hostname, "from_status": from_status or "-", "actor": actor.kind, "reason": reason},
    )
    return DomainEvent.objects.create(
        domain=None if not to_status else domain,
        workspace=domain.workspace,
        hostname=domain.hostname,
        actor_kind=actor.kind,
        actor_user=actor.user,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:500],
    )


def domain_transition(*, domain: Domain, to_status: DomainStatus, actor: Actor, reason: str, **fields) -> Domain:
    """Move a domain to `to_status`, saving `fields` with it; the one path every status change takes.

    Writes the event (and, through domains.signals, the notification outbox's
    `domain.<status>`), the edge outbox row when servability changes, and the
    domain's CloudFront goal when the new status calls for one (provisioning,
    suspended, failed; see domains.cdn.intent). It checks no role: its
    callers (the services below, the checks, the staff actions, the
    provisioning steps) have already decided that `actor` may cause this change.
    """
    with transaction.atomic():
        Hostname.objects.lock(domain.hostname)  # the hostname first, then the domain: the one lock order
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        from_status = locked.status
        was_servable = locked.is_servable
        locked.status = to_status
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save()
        if from_status != to_status:
            event_record(domain=locked, actor=actor, from_status=from_status, to_status=to_status, reason=reason)
        if was_servable != locked.is_servable:
            edge_change_record(domain=locked)
        if from_status != to_status:
            cdn_change_record(domain=locked, to_status=to_status)
            domain_changed.send(
                Domain, domain=locked, event_type=status_event_type(to_status), previous_status=from_status
            )
    return locked


def apex_not_offered_message(hostname: str) -> str:
    return (
        f"Root domains like {hostname} can't be connected here yet. "
        f"Connect a subdomain such as www.{hostname} instead: it needs only one CNAME record."
    )


def domain_create(*, user: AbstractBaseUser, workspace: Workspace, hostname: str) -> Domain:
    """Add a hostname to a workspace as a `pending` claim, due for its first check at once (owners and admins).

    Other workspaces' unproven (pending or failed) claims on the hostname do not
    stand in the way: the first to prove DNS control wins. Refused while another
    workspace holds the hostname (proven) or support blocks it.
    """
    require_manager(user=user, workspace=workspace)
    normalized = normalize_hostname(hostname)
    if is_apex(normalized) and not settings.EDGE_APEX_ADDRESSES:
        # Without the edge's addresses a root domain could be proven but never reached.
        raise InvalidHostname(apex_not_offered_message(to_unicode(normalized)))
    with transaction.atomic():
        # Lock the workspace so two concurrent adds can't both pass the limit,
        # and the hostname so no claim slips in while another is decided.
        Workspace.objects.select_for_update().get(pk=workspace.pk)
        Hostname.objects.lock(normalized)
        if Domain.objects.filter(workspace=workspace, hostname=normalized).exists():
            raise HostnameTaken("This hostname is already in this workspace.")
        require_claimable(hostname=normalized, workspace=workspace)
        if Domain.objects.filter(workspace=workspace).count() >= settings.MAX_DOMAINS_PER_WORKSPACE:
            raise WorkspaceLimitReached(
                f"This workspace already has {settings.MAX_DOMAINS_PER_WORKSPACE} domains, the most it can have; "
                "delete one before adding another."
            )
        now = timezone.now()
        domain = Domain(
            workspace=workspace,
            hostname=normalized,
            display_hostname=to_unicode(normalized),
            is_apex=is_apex(normalized),
            created_by=user,
            next_check_at=now,
            pending_since=now,
        )
        try:
            # A savepoint, so a unique constraint (the locks above make that a
            # backstop) leaves this transaction usable for the clear error.
            with transaction.atomic():
                domain.save(force_insert=True)
        except IntegrityError:
            raise HostnameTaken("This hostname is already in this workspace.") from None
        event_record(
            domain=domain, actor=Actor.tenant(user), from_status="", to_status=DomainStatus.PENDING, reason="added"
        )
        domain_changed.send(Domain, domain=domain, event_type=DOMAIN_CREATED, previous_status="")
        # Check at once: many tenants publish the record before adding the domain.
        enqueue_on_commit(CHECK_TASK, str(domain.pk), host=domain.hostname)
    return domain


def claim_refusal(*, hostname: str, workspace: Workspace) -> HostnameTaken | None:
    """Why `workspace` may not claim (or win) `hostname` now, or None; call under the hostname's lock.

    Support's block comes first (HostnameBlocked); then another workspace's
    domain holding the hostname (proven, or suspended). Unproven claims of
    other workspaces never stand in the way.
    """
    if HostnameBlock.objects.filter(hostname=hostname, lifted_at__isnull=True).exists():
        return HostnameBlocked(BLOCKED_MESSAGE)
    if Domain.objects.filter(hostname=hostname, status__in=HOLDING_STATUSES).exclude(workspace=workspace).exists():
        return HostnameTaken(TAKEN_MESSAGE)
    return None


def require_claimable(*, hostname: str, workspace: Workspace) -> None:
    if (refusal := claim_refusal(hostname=hostname, workspace=workspace)) is not None:
        raise refusal


def rival_claims_fail(*, hostname: str, keep: Domain, reason: str, actor: Actor = SYSTEM) -> int:
    """End every other pending claim on `hostname` as failed, each with its event; call under the hostname's lock.

    Run when `keep` proves the hostname (the reason never names its workspace)
    or support blocks it. Failed claims stay as they are; their Retry is
    refused while the hostname is held or blocked.
    """
    rivals = list(
        Domain.objects.filter(hostname=hostname, status=DomainStatus.PENDING).exclude(pk=keep.pk).order_by("pk")
    )
    for rival in rivals:
        domain_fail(domain=rival, actor=actor, reason=reason)
    return len(rivals)


def domain_fail(*, domain: Domain, actor: Actor, reason: str) -> Domain:
    """→ `failed`: off the schedule until someone retries (callers decide that it failed, and why)."""
    domain.status = DomainStatus.FAILED
    return domain_transition(
        domain=domain,
        to_status=DomainStatus.FAILED,
        actor=actor,
        reason=reason,
        pending_since=None,
        next_check_at=None,
        check_claimed_until=None,
        grace_until=None,
    )


def domain_delete(*, user: AbstractBaseUser, domain: Domain) -> None:
    """Remove a domain (owners and admins); if the edge ever heard of it, a tombstone follows, and its
    CloudFront tenant is disabled, then deleted.

    Deleting a suspended domain leaves its hostname blocked (the block belongs
    to the hostname): adding it again is refused until support lifts the block.
    """
    require_manager(user=user, workspace=domain.workspace)
    with transaction.atomic():
        Hostname.objects.lock(domain.hostname)
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        event_record(domain=locked, actor=Actor.tenant(user), from_status=locked.status, to_status="", reason="deleted")
        if locked.edge_version:
            edge_change_record(domain=locked, deleted=True)
        cdn_change_record(domain=locked, deleted=True)
        domain_changed.send(Domain, domain=locked, event_type=DOMAIN_DELETED, previous_status=locked.status)
        locked.delete()


def domain_retry(*, user: AbstractBaseUser, domain: Domain) -> Domain:
    """`failed` → `pending` (owners and admins), with a fresh wait for DNS proof and a check at once."""
    require_manager(user=user, workspace=domain.workspace)
    return domain_retry_as(domain=domain, actor=Actor.tenant(user), reason="retried")


def domain_retry_as(*, domain: Domain, actor: Actor, reason: str) -> Domain:
    """`failed` → `pending` for a caller that has checked who may; refused while the hostname is held or blocked."""
    require_failed(domain)
    with transaction.atomic():
        Hostname.objects.lock(domain.hostname)
        require_claimable(hostname=domain.hostname, workspace=domain.workspace)
        return domain_back_to_pending(domain=domain, actor=actor, reason=reason)


def require_failed(domain: Domain) -> None:
    if domain.status != DomainStatus.FAILED:
        raise InvalidTransition("Only a failed domain can be retried.")


def domain_back_to_pending(*, domain: Domain, actor: Actor, reason: str) -> Domain:
    """→ `pending`: the domain must prove itself again, starting now (callers check who may, and from what)."""
    now = timezone.now()
    return domain_transition(
        domain=domain,
        to_status=DomainStatus.PENDING,
        actor=actor,
        reason=reason,
        pending_since=now,
        next_check_at=now,
        grace_until=None,
        check_claimed_until=None,
    )

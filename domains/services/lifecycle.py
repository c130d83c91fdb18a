"""A domain's life: added, deleted, retried, and domain_transition, the one path every status change takes."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from domains.edge.outbox import edge_change_record
from domains.enqueue import enqueue_on_commit
from domains.errors import HostnameTaken, InvalidTransition, WorkspaceLimitReached
from domains.hostnames import is_apex, normalize_hostname, to_unicode
from domains.models import ActorKind, Domain, DomainEvent, DomainStatus
from workspaces.models import Workspace
from workspaces.roles import require_manager

logger = logging.getLogger(__name__)

TAKEN_MESSAGE = "This hostname is already connected to another workspace."
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

    Writes the event and, when servability changes, the edge outbox row. It
    checks no role: its callers (the services below, the checks, the staff
    actions) have already decided that `actor` may cause this change.
    """
    with transaction.atomic():
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
    return locked


def domain_create(*, user: AbstractBaseUser, workspace: Workspace, hostname: str) -> Domain:
    """Add a hostname to a workspace as `pending`, due for its first check at once (owners and admins)."""
    require_manager(user=user, workspace=workspace)
    normalized = normalize_hostname(hostname)
    with transaction.atomic():
        # Lock the workspace so two concurrent adds can't both pass the limit.
        Workspace.objects.select_for_update().get(pk=workspace.pk)
        existing = Domain.objects.filter(hostname=normalized).values_list("workspace_id", flat=True).first()
        if existing is not None:
            if existing == workspace.pk:
                raise HostnameTaken("This hostname is already in this workspace.")
            raise HostnameTaken(TAKEN_MESSAGE)
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
            # A savepoint, so the unique constraint losing a race to another
            # workspace leaves this transaction usable for the clear error.
            with transaction.atomic():
                domain.save(force_insert=True)
        except IntegrityError:
            raise HostnameTaken(TAKEN_MESSAGE) from None
        event_record(
            domain=domain, actor=Actor.tenant(user), from_status="", to_status=DomainStatus.PENDING, reason="added"
        )
        # Check at once: many tenants publish the record before adding the domain.
        enqueue_on_commit(CHECK_TASK, str(domain.pk), host=domain.hostname)
    return domain


def domain_delete(*, user: AbstractBaseUser, domain: Domain) -> None:
    """Remove a domain (owners and admins); if the edge ever heard of it, a tombstone follows."""
    require_manager(user=user, workspace=domain.workspace)
    with transaction.atomic():
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        event_record(domain=locked, actor=Actor.tenant(user), from_status=locked.status, to_status="", reason="deleted")
        if locked.edge_version:
            edge_change_record(domain=locked, deleted=True)
        locked.delete()


def domain_retry(*, user: AbstractBaseUser, domain: Domain) -> Domain:
    """`failed` → `pending` (owners and admins), with a fresh wait for DNS proof and a check at once."""
    require_manager(user=user, workspace=domain.workspace)
    require_failed(domain)
    return domain_back_to_pending(domain=domain, actor=Actor.tenant(user), reason="retried")


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

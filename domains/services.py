"""Every write to a domain: create, delete, retry, suspend, unsuspend, transition.

Each function is keyword-only and atomic, checks who may act, and leaves
exactly one DomainEvent per change of status. A change of what the edge should
serve writes an EdgeOutbox row in the same transaction.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from domains.enqueue import enqueue_on_commit
from domains.errors import HostnameTaken, InvalidTransition, NotAllowed, WorkspaceLimitReached
from domains.hostnames import is_apex, normalize_hostname, to_unicode
from domains.models import (
    ActorKind,
    Domain,
    DomainEvent,
    DomainStatus,
    EdgeOutbox,
    EdgeState,
    next_edge_version,
)
from workspaces.models import Membership, Workspace

logger = logging.getLogger(__name__)

TAKEN_MESSAGE = "This hostname is already connected to another workspace."


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


def require_domain_manager(*, user: AbstractBaseUser, workspace: Workspace) -> Membership:
    """The user's membership when it may add, check, retry or delete domains."""
    membership = Membership.objects.filter(user=user, workspace=workspace).first() if user.is_authenticated else None
    if membership is None:
        # Not a member at all: callers have already answered 404 for reads.
        raise NotAllowed("You are not a member of this workspace.")
    if not membership.can_manage_domains:
        raise NotAllowed("Only the workspace's owners and admins can change its domains.")
    return membership


def require_support_staff(user: AbstractBaseUser) -> None:
    if not (user.is_active and user.is_staff and user.has_perm("domains.change_domain")):
        raise NotAllowed("Only support staff with permission to change domains can do this.")


def _write_edge_change(domain: Domain, *, deleted: bool = False) -> EdgeOutbox:
    """Record, inside the caller's transaction, what the edge should now serve for the hostname."""
    domain.edge_version = next_edge_version(domain.edge_version)
    if not deleted:
        Domain.objects.filter(pk=domain.pk).update(edge_version=domain.edge_version)
    row = EdgeOutbox.objects.create(
        hostname=domain.hostname,
        workspace_public_id=domain.workspace.public_id,
        version=domain.edge_version,
        state=EdgeState.SERVE if domain.is_servable and not deleted else EdgeState.GONE,
    )
    _deliver_after_commit(row)
    return row


def _deliver_after_commit(row: EdgeOutbox) -> None:
    # Imported here: tasks import the services, not the other way round at load time.
    from domains.tasks import edge_deliver

    enqueue_on_commit(edge_deliver, row.pk, host=row.hostname, version=row.version)


def _log_event(domain: Domain, *, actor: Actor, from_status: str, to_status: str, reason: str) -> DomainEvent:
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

    Writes the event and, when servability changes, the edge outbox row.
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
            _log_event(locked, actor=actor, from_status=from_status, to_status=to_status, reason=reason)
        if was_servable != locked.is_servable:
            _write_edge_change(locked)
    return locked


def domain_create(*, user: AbstractBaseUser, workspace: Workspace, hostname: str) -> Domain:
    """Add a hostname to a workspace as `pending`, due for its first check at once."""
    require_domain_manager(user=user, workspace=workspace)
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
        _log_event(domain, actor=Actor.tenant(user), from_status="", to_status=DomainStatus.PENDING, reason="added")
    return domain


def domain_delete(*, user: AbstractBaseUser, domain: Domain) -> None:
    """Remove a domain; if the edge ever heard of it, a tombstone follows."""
    require_domain_manager(user=user, workspace=domain.workspace)
    _delete(domain, actor=Actor.tenant(user), reason="deleted")


def _delete(domain: Domain, *, actor: Actor, reason: str) -> None:
    with transaction.atomic():
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        _log_event(locked, actor=actor, from_status=locked.status, to_status="", reason=reason)
        if locked.edge_version:
            _write_edge_change(locked, deleted=True)
        locked.delete()


def domain_retry(*, user: AbstractBaseUser, domain: Domain) -> Domain:
    """`failed` → `pending`, with a fresh wait for DNS proof and a check at once."""
    require_domain_manager(user=user, workspace=domain.workspace)
    if domain.status != DomainStatus.FAILED:
        raise InvalidTransition("Only a failed domain can be retried.")
    return _back_to_pending(domain, actor=Actor.tenant(user), reason="retried")


def _back_to_pending(domain: Domain, *, actor: Actor, reason: str) -> Domain:
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


def domain_suspend(*, staff_user: AbstractBaseUser, domain: Domain, reason: str) -> Domain:
    """Stop serving and checking a domain (support staff only, with a reason)."""
    require_support_staff(staff_user)
    if not reason.strip():
        raise InvalidTransition("Give a reason for suspending the domain.")
    if domain.status == DomainStatus.SUSPENDED:
        raise InvalidTransition("This domain is already suspended.")
    return domain_transition(
        domain=domain,
        to_status=DomainStatus.SUSPENDED,
        actor=Actor.staff(staff_user),
        reason=reason.strip(),
        next_check_at=None,
        grace_until=None,
    )


def domain_unsuspend(*, staff_user: AbstractBaseUser, domain: Domain, reason: str = "") -> Domain:
    """`suspended` → `pending`: the domain must prove itself again before it is served."""
    require_support_staff(staff_user)
    if domain.status != DomainStatus.SUSPENDED:
        raise InvalidTransition("Only a suspended domain can be unsuspended.")
    return _back_to_pending(domain, actor=Actor.staff(staff_user), reason=reason.strip() or "unsuspended")


# --- Support staff: move a domain to another workspace -------------------------


def domain_move(*, staff_user: AbstractBaseUser, domain: Domain, workspace: Workspace, reason: str = "") -> Domain:
    """Give a domain to another workspace (support staff only); the edge follows if it serves it."""
    require_support_staff(staff_user)
    with transaction.atomic():
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        if locked.workspace_id == workspace.pk:
            raise InvalidTransition("The domain already belongs to this workspace.")
        previous = locked.workspace
        locked.workspace = workspace
        locked.save(update_fields=["workspace", "updated_at"])
        detail = f"moved from {previous.public_id} to {workspace.public_id}"
        _log_event(
            locked,
            actor=Actor.staff(staff_user),
            from_status=locked.status,
            to_status=locked.status,
            reason=f"{detail}: {reason.strip()}" if reason.strip() else detail,
        )
        # Only a served hostname names a workspace at the edge; any other state stays a tombstone.
        if locked.is_servable:
            _write_edge_change(locked)
    return locked

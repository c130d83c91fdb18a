"""What support staff do to a domain: suspend, unsuspend, retry, check and resync it, each recorded as an event."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from domains.edge.outbox import edge_change_record
from domains.errors import InvalidTransition
from domains.models import Domain, DomainCheck, DomainStatus, EdgeOutbox
from domains.services.checks import domain_check_now
from domains.services.lifecycle import (
    STAFF_PERMISSION,
    Actor,
    domain_back_to_pending,
    domain_transition,
    event_record,
    require_failed,
)
from workspaces.roles import require_support_staff


def _require_staff(user: AbstractBaseUser) -> None:
    require_support_staff(user, permission=STAFF_PERMISSION, action="change domains")


def domain_suspend(*, staff_user: AbstractBaseUser, domain: Domain, reason: str) -> Domain:
    """Stop serving and checking a domain (support staff only, with a reason)."""
    _require_staff(staff_user)
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
    _require_staff(staff_user)
    if domain.status != DomainStatus.SUSPENDED:
        raise InvalidTransition("Only a suspended domain can be unsuspended.")
    return domain_back_to_pending(domain=domain, actor=Actor.staff(staff_user), reason=reason.strip() or "unsuspended")


def domain_retry_by_staff(*, staff_user: AbstractBaseUser, domain: Domain) -> Domain:
    """`failed` → `pending` by support staff, as the tenant's Retry would."""
    _require_staff(staff_user)
    require_failed(domain)
    return domain_back_to_pending(domain=domain, actor=Actor.staff(staff_user), reason="retried by support")


def domain_resync_edge(*, staff_user: AbstractBaseUser, domain: Domain) -> EdgeOutbox:
    """Deliver the domain's current edge state again (a fresh, newer version), recorded as an event."""
    _require_staff(staff_user)
    with transaction.atomic():
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        row = edge_change_record(domain=locked)
        event_record(
            domain=locked,
            actor=Actor.staff(staff_user),
            from_status=locked.status,
            to_status=locked.status,
            reason="resynced to edge",
        )
    return row


def domain_check_by_staff(*, staff_user: AbstractBaseUser, domain: Domain) -> DomainCheck:
    """A support check now; leaves an event with the staff user even when the status stays."""
    _require_staff(staff_user)
    before = domain.status
    check = domain_check_now(user=staff_user, domain=domain)
    after = Domain.objects.filter(pk=domain.pk).select_related("workspace").first()
    if after is not None and after.status == before:
        event_record(
            domain=after,
            actor=Actor.staff(staff_user),
            from_status=before,
            to_status=before,
            reason=f"checked by support: {check.outcome}",
        )
    return check

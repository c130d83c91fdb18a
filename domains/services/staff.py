"""What support staff do to a domain: suspend, unsuspend, retry, check, resync and re-provision it, each recorded as an event.

A suspension belongs to the hostname: suspending a domain blocks its hostname
(a HostnameBlock) until support lifts the block, by unsuspending the domain or
lifting the block in the admin, even after the tenant deleted the domain.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from domains.edge.outbox import edge_change_record
from domains.errors import InvalidTransition
from domains.models import (
    HOLDING_STATUSES,
    Domain,
    DomainStatus,
    EdgeOutbox,
    Hostname,
    HostnameBlock,
)
from domains.services.checks import CheckQueued, domain_check_queue
from domains.services.lifecycle import (
    BLOCKED_REASON,
    STAFF_PERMISSION,
    Actor,
    domain_back_to_pending,
    domain_retry_as,
    domain_transition,
    event_record,
    rival_claims_fail,
)
from domains.services.provisioning import domain_reprovision_as
from workspaces.roles import require_support_staff


def _require_staff(user: AbstractBaseUser) -> None:
    require_support_staff(user, permission=STAFF_PERMISSION, action="change domains")


def domain_suspend(*, staff_user: AbstractBaseUser, domain: Domain, reason: str, tenant_message: str = "") -> Domain:
    """Stop serving and checking a domain and block its hostname (support staff only, with a reason).

    `reason` is support's internal note (the event's reason, for staff); `tenant_message`
    is what the tenant reads, a neutral default when empty.

    Other workspaces' pending claims on the hostname end failed. A claim that
    never proved the hostname cannot be suspended while another workspace's
    domain holds it (that would block the holder): suspend the holder instead.
    """
    _require_staff(staff_user)
    if not reason.strip():
        raise InvalidTransition("Give a reason for suspending the domain.")
    with transaction.atomic():
        Hostname.objects.lock(domain.hostname)
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        if locked.status == DomainStatus.SUSPENDED:
            raise InvalidTransition("This domain is already suspended.")
        if HostnameBlock.objects.filter(hostname=locked.hostname, lifted_at__isnull=True).exists():
            raise InvalidTransition("This hostname is already blocked; see the blocked hostnames.")
        if Domain.objects.filter(hostname=locked.hostname, status__in=HOLDING_STATUSES).exclude(pk=locked.pk).exists():
            raise InvalidTransition(
                "Another workspace's domain holds this hostname; suspend that domain to block the hostname."
            )
        HostnameBlock.objects.create(
            hostname=locked.hostname,
            domain=locked,
            workspace=locked.workspace,
            reason=reason.strip()[:500],
            blocked_by=staff_user,
        )
        suspended = domain_transition(
            domain=locked,
            to_status=DomainStatus.SUSPENDED,
            actor=Actor.staff(staff_user),
            reason=reason.strip(),
            next_check_at=None,
            grace_until=None,
            suspension_message=tenant_message.strip()[:1000],
        )
        rival_claims_fail(hostname=locked.hostname, keep=locked, reason=BLOCKED_REASON, actor=Actor.staff(staff_user))
    return suspended


def domain_unsuspend(*, staff_user: AbstractBaseUser, domain: Domain, reason: str = "") -> Domain:
    """`suspended` → `pending`, lifting the hostname's block: the domain must prove itself again before it is served."""
    _require_staff(staff_user)
    if domain.status != DomainStatus.SUSPENDED:
        raise InvalidTransition("Only a suspended domain can be unsuspended.")
    reason = reason.strip() or "unsuspended"
    with transaction.atomic():
        Hostname.objects.lock(domain.hostname)
        _lift_blocks(hostname=domain.hostname, staff_user=staff_user, reason=reason)
        return domain_back_to_pending(domain=domain, actor=Actor.staff(staff_user), reason=reason)


def hostname_block_lift(*, staff_user: AbstractBaseUser, block: HostnameBlock, reason: str = "") -> HostnameBlock:
    """Lift a hostname's block (support staff only), recorded with who, when and why.

    Its suspended domain, if the tenant kept it, goes back to `pending` (as
    unsuspending would); otherwise the hostname may simply be added again.
    """
    _require_staff(staff_user)
    reason = reason.strip() or "block lifted by support"
    with transaction.atomic():
        Hostname.objects.lock(block.hostname)
        if not HostnameBlock.objects.filter(pk=block.pk, lifted_at__isnull=True).exists():
            raise InvalidTransition("This block was already lifted.")
        _lift_blocks(hostname=block.hostname, staff_user=staff_user, reason=reason)
        for suspended in Domain.objects.filter(hostname=block.hostname, status=DomainStatus.SUSPENDED):
            domain_back_to_pending(domain=suspended, actor=Actor.staff(staff_user), reason=reason)
    block.refresh_from_db()
    return block


def _lift_blocks(*, hostname: str, staff_user: AbstractBaseUser, reason: str) -> None:
    HostnameBlock.objects.filter(hostname=hostname, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=staff_user, lift_reason=reason[:500]
    )


def domain_retry_by_staff(*, staff_user: AbstractBaseUser, domain: Domain) -> Domain:
    """`failed` → `pending` by support staff, as the tenant's Retry would (and refused as it would be)."""
    _require_staff(staff_user)
    return domain_retry_as(domain=domain, actor=Actor.staff(staff_user), reason="retried by support")


def domain_resync_edge(*, staff_user: AbstractBaseUser, domain: Domain) -> EdgeOutbox:
    """Deliver the domain's current edge state again (a fresh, newer version), recorded as an event."""
    _require_staff(staff_user)
    with transaction.atomic():
        Hostname.objects.lock(domain.hostname)
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


def domain_check_by_staff(*, staff_user: AbstractBaseUser, domain: Domain) -> CheckQueued:
    """A support check, queued like the web UI's (a selection of many never holds the admin's request).

    Leaves an event with the staff user at once, whatever the check finds; a
    status the check then changes is recorded with the same staff actor.
    """
    _require_staff(staff_user)
    queued = domain_check_queue(user=staff_user, domain=domain)
    with transaction.atomic():
        current = Domain.objects.select_related("workspace").get(pk=domain.pk)
        event_record(
            domain=current,
            actor=Actor.staff(staff_user),
            from_status=current.status,
            to_status=current.status,
            reason="DNS check requested by support"
            if queued.queued
            else "DNS check requested by support (one was under way)",
        )
    return queued


def domain_reprovision(*, staff_user: AbstractBaseUser, domain: Domain) -> Domain:
    """Set HTTPS up again through CloudFront (support staff only): → provisioning, its tenant found or made anew.

    A certificate that is not issued is requested again; the domain turns
    active once it is issued and attached. For proven domains only (not
    pending, failed or suspended, nor misconfigured while its DNS is wrong).
    """
    _require_staff(staff_user)
    domain_reprovision_as(domain=domain, actor=Actor.staff(staff_user), reason="HTTPS re-provisioned by support")
    return Domain.objects.select_related("workspace").get(pk=domain.pk)

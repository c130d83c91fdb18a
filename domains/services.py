"""Every write to a domain: create, delete, retry, suspend, unsuspend, transition.

Each function is keyword-only and atomic, checks who may act, and leaves
exactly one DomainEvent per change of status. A change of what the edge should
serve writes an EdgeOutbox row in the same transaction.
"""

import logging
import math
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from domains.dns import CheckRequest, CheckResult, get_checker
from domains.enqueue import enqueue_on_commit
from domains.errors import CheckRateLimited, HostnameTaken, InvalidTransition, NotAllowed, WorkspaceLimitReached
from domains.hostnames import is_apex, normalize_hostname, to_unicode
from domains.models import (
    CHECKED_STATUSES,
    ActorKind,
    Domain,
    DomainCheck,
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
        # Check at once: many tenants publish the record before adding the domain.
        _check_after_commit(domain)
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


# --- DNS checks and their schedule ----------------------------------------------
#
# A check asks DNS first and takes the row lock only afterwards, so no
# transaction is held open while waiting on a name server. What the check
# concludes is applied to the row as it is by then (a domain suspended or
# deleted meanwhile is not brought back).


def domain_check(*, domain: Domain, manual: bool = False, actor: Actor = SYSTEM) -> DomainCheck:
    """Ask DNS about the domain now, record the check, move the status, and schedule the next check.

    Raises Domain.DoesNotExist when the domain is deleted while DNS is asked.
    """
    result = get_checker().check(_check_request(domain))
    return _record_check(domain_id=domain.pk, result=result, manual=manual, actor=actor)


def domain_check_now(*, user: AbstractBaseUser, domain: Domain) -> DomainCheck:
    """A check asked for by a person: the workspace's owners and admins, or support staff.

    At most one per DOMAIN_MANUAL_CHECK_INTERVAL per domain, whoever asks;
    otherwise CheckRateLimited says how many seconds to wait.
    """
    actor = _check_actor(user=user, domain=domain)
    now = timezone.now()
    interval = settings.DOMAIN_MANUAL_CHECK_INTERVAL
    free = Q(last_manual_check_at__isnull=True) | Q(last_manual_check_at__lte=now - timedelta(seconds=interval))
    # One conditional UPDATE, so two clicks at the same moment cannot both pass.
    if not Domain.objects.filter(free, pk=domain.pk).update(last_manual_check_at=now):
        last = Domain.objects.filter(pk=domain.pk).values_list("last_manual_check_at", flat=True).first()
        if last is None:
            raise Domain.DoesNotExist
        raise CheckRateLimited(max(1, math.ceil(interval - (now - last).total_seconds())))
    return domain_check(domain=domain, manual=True, actor=actor)


def domain_expedite_check(*, domain: Domain) -> None:
    """Someone is watching this pending domain: make it due within the fast interval.

    Called by the web UI while the page is open, so a record published hours
    after adding the domain is noticed in seconds rather than at the next
    back-off step. Never checks more often than the fast interval; no event.
    """
    now = timezone.now()
    fast = timedelta(seconds=settings.DOMAIN_PENDING_FAST_INTERVAL)
    Domain.objects.filter(
        Q(next_check_at__isnull=True) | Q(next_check_at__gt=now + fast),
        Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=now - fast),
        pk=domain.pk,
        status=DomainStatus.PENDING,
    ).update(next_check_at=now)


def domain_checks_claim_due(*, limit: int) -> list[uuid.UUID]:
    """Claim up to `limit` domains whose check is due, oldest due first; returns their ids.

    A claimed domain is skipped by every other dispatcher until its check
    releases the claim or the lease runs out (a worker that died), so no
    domain is checked twice at once however many dispatchers run.
    """
    now = timezone.now()
    # A claim value of our own (random microseconds) lets us tell our rows from
    # another dispatcher's should the conditional UPDATE below lose some of them.
    until = now + timedelta(seconds=settings.DOMAIN_CHECK_CLAIM_LEASE, microseconds=secrets.randbelow(1_000_000))
    free = Q(check_claimed_until__isnull=True) | Q(check_claimed_until__lte=now)
    with transaction.atomic():
        due = Domain.objects.filter(free, status__in=CHECKED_STATUSES, next_check_at__lte=now).order_by("next_check_at")
        if connection.features.has_select_for_update_skip_locked:
            # PostgreSQL: concurrent dispatchers take disjoint rows instead of waiting.
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        # SQLite serialises write transactions (IMMEDIATE) and PostgreSQL holds
        # the row locks, so this normally claims every id read above.
        claimed = Domain.objects.filter(free, pk__in=ids).update(check_claimed_until=until)
        if claimed != len(ids):
            ids = list(Domain.objects.filter(pk__in=ids, check_claimed_until=until).values_list("pk", flat=True))
    return ids


def domain_check_claim(*, domain_id: uuid.UUID | str) -> bool:
    """Claim one domain's check (e.g. the one queued right after creation); False if it is taken or not checked."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.DOMAIN_CHECK_CLAIM_LEASE)
    free = Q(check_claimed_until__isnull=True) | Q(check_claimed_until__lte=now)
    return bool(
        Domain.objects.filter(free, pk=domain_id, status__in=CHECKED_STATUSES).update(check_claimed_until=until)
    )


def domain_check_claimed(*, domain_ids: Sequence[uuid.UUID | str]) -> list[DomainCheck]:
    """Check the given domains that are still claimed and still on the schedule, all at once.

    DNS is asked concurrently through the checker's batch API (that is where
    the time goes); each result is then written in its own savepoint of one
    batch transaction, so a failure loses only its own domain, whose claim then
    simply runs out.
    """
    now = timezone.now()
    domains = list(Domain.objects.filter(pk__in=domain_ids, status__in=CHECKED_STATUSES, check_claimed_until__gt=now))
    if not domains:
        return []
    results = get_checker().check_many(
        [_check_request(domain) for domain in domains], concurrency=settings.DNS_CHECK_CONCURRENCY
    )
    checks = []
    # One transaction for the batch (a commit per domain would cost more than
    # the writes themselves); each domain's writes sit in their own savepoint.
    with transaction.atomic():
        for domain, result in zip(domains, results, strict=True):
            try:
                checks.append(_record_check(domain_id=domain.pk, result=result, manual=False, actor=SYSTEM))
            except Domain.DoesNotExist:
                continue  # deleted while DNS was asked
            except DatabaseError:
                logger.exception("could not record a check", extra={"host": domain.hostname})
    return checks


def _check_after_commit(domain: Domain) -> None:
    # Imported here: tasks import the services, not the other way round at load time.
    from domains.tasks import check_domain

    enqueue_on_commit(check_domain, str(domain.pk), host=domain.hostname)


def _check_actor(*, user: AbstractBaseUser, domain: Domain) -> Actor:
    try:
        require_domain_manager(user=user, workspace=domain.workspace)
        return Actor.tenant(user)
    except NotAllowed as refusal:
        try:
            require_support_staff(user)
        except NotAllowed:
            raise refusal from None  # the tenant's reason is the one worth showing
        return Actor.staff(user)


def _check_request(domain: Domain) -> CheckRequest:
    return CheckRequest(hostname=domain.hostname, token=domain.token, is_apex=domain.is_apex, target=domain.target)


def _record_check(*, domain_id: uuid.UUID, result: CheckResult, manual: bool, actor: Actor) -> DomainCheck:
    now = timezone.now()
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("workspace").get(pk=domain_id)
        check = DomainCheck.objects.create(
            domain=domain,
            outcome=result.outcome.value,
            expected=dict(result.expected),
            found=result.found,
            message=result.message,
            manual=manual,
            duration_ms=round(result.duration_ms),
        )
        _prune_checks(domain)
        from_status = domain.status
        to_status, reason, fields = _lifecycle(domain, result, now=now)
        fields.update(last_checked_at=now, last_check_outcome=result.outcome.value, check_claimed_until=None)
        for name, value in fields.items():
            setattr(domain, name, value)
        domain.status = to_status
        fields["next_check_at"] = _next_check_at(domain, now=now, transient=not result.definitive)
        if to_status != from_status:
            domain_transition(domain=domain, to_status=to_status, actor=actor, reason=reason, **fields)
        else:
            # Most checks change no status: one UPDATE of the row already locked above.
            Domain.objects.filter(pk=domain.pk).update(**fields, updated_at=now)
    logger.info(
        "domain checked",
        extra={"host": domain.hostname, "outcome": result.outcome.value, "status": to_status, "manual": manual},
    )
    return check


def _lifecycle(domain: Domain, result: CheckResult, *, now: datetime) -> tuple[str, str, dict]:
    """The status the check leads to, why, and the fields that change with it."""
    status = domain.status
    if status not in CHECKED_STATUSES or not result.definitive:
        # Failed and suspended domains only record the check; a transient
        # answer says nothing about the domain, so it changes nothing.
        return status, "", {}
    if result.verified:
        if status == DomainStatus.PENDING:
            return DomainStatus.ACTIVE, result.message, {"verified_at": now, "pending_since": None, "grace_until": None}
        if status == DomainStatus.MISCONFIGURED:
            return DomainStatus.ACTIVE, f"DNS correct again: {result.message}", {"grace_until": None}
        return status, "", {}
    if status == DomainStatus.ACTIVE:
        grace_until = now + timedelta(seconds=settings.DOMAIN_GRACE_PERIOD)
        return DomainStatus.MISCONFIGURED, result.message, {"grace_until": grace_until}
    if status == DomainStatus.MISCONFIGURED and domain.grace_until is not None and now >= domain.grace_until:
        return DomainStatus.FAILED, f"Grace period over: {result.message}", {"grace_until": None}
    if status == DomainStatus.PENDING and now >= _pending_deadline(domain):
        days = settings.DOMAIN_PENDING_GIVE_UP / 86400
        return DomainStatus.FAILED, f"No DNS proof after {days:g} days: {result.message}", {"pending_since": None}
    return status, "", {}


def _pending_deadline(domain: Domain) -> datetime:
    return (domain.pending_since or domain.created_at) + timedelta(seconds=settings.DOMAIN_PENDING_GIVE_UP)


def _next_check_at(domain: Domain, *, now: datetime, transient: bool) -> datetime | None:
    """When the domain, in its new status, is due again; None when it is off the schedule."""
    retry = now + timedelta(seconds=settings.DOMAIN_TRANSIENT_RETRY)
    if domain.status == DomainStatus.PENDING:
        anchor = domain.pending_since or domain.created_at
        due = min(_backoff_due(anchor, now), _pending_deadline(domain))
    elif domain.status == DomainStatus.MISCONFIGURED:
        grace = timedelta(seconds=settings.DOMAIN_GRACE_PERIOD)
        grace_until = domain.grace_until or now + grace
        # Back-off counted from when it broke; the last check lands on the end of the grace.
        due = min(_backoff_due(grace_until - grace, now), grace_until)
    elif domain.status == DomainStatus.ACTIVE:
        jitter = settings.DOMAIN_ACTIVE_RECHECK_JITTER
        seconds = settings.DOMAIN_ACTIVE_RECHECK_INTERVAL + (
            secrets.randbelow(2 * jitter + 1) - jitter if jitter else 0
        )
        due = now + timedelta(seconds=max(seconds, settings.DOMAIN_TRANSIENT_RETRY))
    else:
        return None
    if transient:
        due = min(due, retry)
    # A deadline that passed during a transient answer: keep asking until DNS answers.
    return due if due > now else retry


def _backoff_due(anchor: datetime, now: datetime) -> datetime:
    """The next point of the back-off schedule counted from `anchor`, comfortably after `now`.

    Points: every fast interval until the fast window ends, then each step of
    DOMAIN_CHECK_BACKOFF in turn, the last step repeating. Computed from the
    anchor rather than from the previous check, so late or extra checks (a
    manual one, a worker outage) never push the schedule out.
    """
    fast = settings.DOMAIN_PENDING_FAST_INTERVAL
    # A check that ran late must not be followed by another one at once.
    elapsed = (now - anchor).total_seconds() + fast / 2
    if elapsed < settings.DOMAIN_PENDING_FAST_WINDOW:
        point = (math.floor(max(elapsed, 0) / fast) + 1) * fast
        return anchor + timedelta(seconds=min(point, settings.DOMAIN_PENDING_FAST_WINDOW))
    point = settings.DOMAIN_PENDING_FAST_WINDOW
    steps = settings.DOMAIN_CHECK_BACKOFF or [fast]
    for step in steps:
        point += step
        if point > elapsed:
            return anchor + timedelta(seconds=point)
    last = steps[-1]
    point += (math.floor((elapsed - point) / last) + 1) * last
    return anchor + timedelta(seconds=point)


def _prune_checks(domain: Domain) -> None:
    """Keep the newest DOMAIN_CHECKS_KEPT checks of the domain."""
    stale = list(
        DomainCheck.objects.filter(domain=domain)
        .order_by("-checked_at", "-id")
        .values_list("pk", flat=True)[settings.DOMAIN_CHECKS_KEPT :]
    )
    if stale:
        DomainCheck.objects.filter(pk__in=stale).delete()


# --- Support staff: resync to the edge, retry on a tenant's behalf -------------


def domain_resync_edge(*, staff_user: AbstractBaseUser, domain: Domain) -> EdgeOutbox:
    """Deliver the domain's current edge state again (a fresh, newer version), recorded as an event."""
    require_support_staff(staff_user)
    with transaction.atomic():
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        row = _write_edge_change(locked)
        _log_event(
            locked,
            actor=Actor.staff(staff_user),
            from_status=locked.status,
            to_status=locked.status,
            reason="resynced to edge",
        )
    return row


def domain_retry_by_staff(*, staff_user: AbstractBaseUser, domain: Domain) -> Domain:
    """`failed` → `pending` by support staff, as the tenant's Retry would."""
    require_support_staff(staff_user)
    if domain.status != DomainStatus.FAILED:
        raise InvalidTransition("Only a failed domain can be retried.")
    return _back_to_pending(domain, actor=Actor.staff(staff_user), reason="retried by support")


def domain_check_by_staff(*, staff_user: AbstractBaseUser, domain: Domain) -> DomainCheck:
    """A support check now; leaves an event with the staff user even when the status stays."""
    require_support_staff(staff_user)
    before = domain.status
    check = domain_check_now(user=staff_user, domain=domain)
    after = Domain.objects.filter(pk=domain.pk).select_related("workspace").first()
    if after is not None and after.status == before:
        _log_event(
            after,
            actor=Actor.staff(staff_user),
            from_status=before,
            to_status=before,
            reason=f"checked by support: {check.outcome}",
        )
    return check

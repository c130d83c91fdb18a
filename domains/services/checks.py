"""DNS checks: claiming what is due (with a lease), asking DNS, and what a check's result does to a domain.

A check asks DNS first and takes the row lock only afterwards, so no
transaction is held open while waiting on a name server. What the check
concludes is applied to the row as it is by then (a domain suspended or
deleted meanwhile is not brought back).

A check takes at most DNS_CHECK_DEADLINE, and one only starts when it can end
before its claim runs out (settings refuse a DOMAIN_CHECK_CLAIM_LEASE too
short for a whole batch), so no other dispatcher claims and checks the same
domain meanwhile. "Check now" from the web UI and the API is queued
(domain_check_queue) rather than run inside the request.
"""

import logging
import math
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from domains.cdn.intent import cdn_enabled
from domains.dns import CheckRequest, CheckResult, get_checker
from domains.enqueue import enqueue_on_commit
from domains.errors import CheckRateLimited, HostnameBlocked
from domains.models import CHECKED_STATUSES, ActorKind, Domain, DomainCheck, DomainStatus, Hostname
from domains.services.lifecycle import (
    BLOCKED_REASON,
    OTHER_PROVED_MESSAGE,
    STAFF_PERMISSION,
    SYSTEM,
    Actor,
    claim_refusal,
    domain_transition,
    rival_claims_fail,
)
from domains.services.provisioning import certificate_problem
from domains.services.schedule import next_check_at, pending_deadline
from workspaces.roles import NotAllowed, is_support_staff, require_manager

logger = logging.getLogger(__name__)


def domain_check(*, domain: Domain, manual: bool = False, actor: Actor = SYSTEM) -> DomainCheck:
    """Ask DNS about the domain now, record the check, move the status, and schedule the next check.

    For the system and for callers that have already checked who may ask.

    Raises Domain.DoesNotExist when the domain is deleted while DNS is asked.
    """
    result = get_checker().check(_check_request(domain))
    return _record_check(domain_id=domain.pk, result=result, manual=manual, actor=actor)


def domain_check_now(*, user: AbstractBaseUser, domain: Domain) -> DomainCheck:
    """A check asked for by a person, run right here: the workspace's owners and admins, or support staff.

    Takes up to DNS_CHECK_DEADLINE; the web UI and the API queue theirs with
    domain_check_queue instead. At most one per DOMAIN_MANUAL_CHECK_INTERVAL
    per domain, whoever asks; otherwise CheckRateLimited says how many seconds to wait.
    """
    actor = _check_actor(user=user, domain=domain)
    _take_manual_check_turn(domain=domain)
    return domain_check(domain=domain, manual=True, actor=actor)


@dataclass(frozen=True)
class CheckQueued:
    """What domain_check_queue did: a check newer than `previous_check_id` is the one asked for."""

    previous_check_id: int | None
    queued: bool  # False when a check of the domain was already under way; its result answers instead


def domain_check_queue(*, user: AbstractBaseUser, domain: Domain) -> CheckQueued:
    """ "Check now" from the web UI or the API: queue a manual check and return at once.

    The same people and the same rate limit as domain_check_now. The domain is
    claimed for the check (the page says "Checking now…" and keeps polling
    until its result is in), and a checked domain is made due, so should the
    queued task be lost the dispatcher checks it once the claim runs out. When
    another check holds the claim already, nothing more is queued.
    """
    actor = _check_actor(user=user, domain=domain)
    _take_manual_check_turn(domain=domain)
    previous = DomainCheck.objects.filter(domain=domain).order_by("-id").values_list("pk", flat=True).first()
    now = timezone.now()
    until = now + timedelta(seconds=settings.DOMAIN_CHECK_CLAIM_LEASE, microseconds=secrets.randbelow(1_000_000))
    free = Q(check_claimed_until__isnull=True) | Q(check_claimed_until__lte=now)
    with transaction.atomic():
        if not Domain.objects.filter(free, pk=domain.pk).update(check_claimed_until=until):
            return CheckQueued(previous_check_id=previous, queued=False)
        Domain.objects.filter(pk=domain.pk, status__in=CHECKED_STATUSES, next_check_at__gt=now).update(
            next_check_at=now
        )
        enqueue_on_commit(
            "domains.check_domain_now",
            str(domain.pk),
            actor.kind.value,
            getattr(actor.user, "pk", None),
            until.isoformat(),
            host=domain.hostname,
        )
    return CheckQueued(previous_check_id=previous, queued=True)


def domain_check_queued(
    *, domain_id: uuid.UUID | str, actor_kind: str, user_id: int | None, claimed_until: str
) -> DomainCheck | None:
    """Run a check domain_check_queue queued (the task's body); None when it is no longer ours to run.

    Not run when the domain has gone, when its claim is no longer this one
    (it ran out and another check took over), or when too little of the claim
    is left to finish within it; the dispatcher checks the domain once the
    claim runs out. The person's role was checked when they asked.
    """
    until = datetime.fromisoformat(claimed_until)
    now = timezone.now()
    if until <= now + timedelta(seconds=settings.DNS_CHECK_DEADLINE):
        logger.warning("queued check started too late for its claim; left to the schedule", extra={"domain": domain_id})
        return None
    domain = Domain.objects.select_related("workspace").filter(pk=domain_id, check_claimed_until=until).first()
    if domain is None:
        return None
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    actor = Actor(ActorKind(actor_kind), user) if user is not None else SYSTEM
    try:
        return domain_check(domain=domain, manual=True, actor=actor)
    except Domain.DoesNotExist:
        return None  # deleted while DNS was asked


def domain_check_after(*, domain: Domain, check_id: int | None) -> DomainCheck | None:
    """The domain's newest check if it is newer than `check_id` (e.g. the result of a queued check)."""
    newer = DomainCheck.objects.filter(domain=domain)
    if check_id is not None:
        newer = newer.filter(pk__gt=check_id)
    return newer.order_by("-id").first()


def _take_manual_check_turn(*, domain: Domain) -> None:
    """Note a manual check now, or raise CheckRateLimited (at most one per DOMAIN_MANUAL_CHECK_INTERVAL)."""
    now = timezone.now()
    interval = settings.DOMAIN_MANUAL_CHECK_INTERVAL
    free = Q(last_manual_check_at__isnull=True) | Q(last_manual_check_at__lte=now - timedelta(seconds=interval))
    # One conditional UPDATE, so two clicks at the same moment cannot both pass.
    if not Domain.objects.filter(free, pk=domain.pk).update(last_manual_check_at=now):
        last = Domain.objects.filter(pk=domain.pk).values_list("last_manual_check_at", flat=True).first()
        if last is None:
            raise Domain.DoesNotExist
        raise CheckRateLimited(max(1, math.ceil(interval - (now - last).total_seconds())))


def domain_expedite_check(*, domain: Domain) -> None:
    """Someone is watching this pending domain: make it due within the fast interval.

    Called by the web UI while the page is open (for anyone who may see it),
    so a record published hours after adding the domain is noticed in seconds
    rather than at the next back-off step. Never checks more often than the
    fast interval; no event.
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
    the time goes), and each result is recorded as soon as its own check ends:
    the checks that end together are written in one transaction, each in its
    own savepoint, so a failure loses only its own domain, whose claim then
    simply runs out. A domain whose claim would run out before the batch could
    end (DNS_CHECK_DEADLINE per round of DNS_CHECK_CONCURRENCY checks) is left
    to the dispatch after the claim, rather than checked twice at once.
    """
    now = timezone.now()
    concurrency = settings.DNS_CHECK_CONCURRENCY
    claimed = list(Domain.objects.filter(pk__in=domain_ids, status__in=CHECKED_STATUSES, check_claimed_until__gt=now))
    rounds = math.ceil(len(claimed) / concurrency)
    ends_by = now + timedelta(seconds=settings.DNS_CHECK_DEADLINE * rounds)
    domains = [domain for domain in claimed if domain.check_claimed_until > ends_by]
    if len(domains) < len(claimed):
        logger.warning(
            "claims too short to finish; left for the next dispatch", extra={"count": len(claimed) - len(domains)}
        )
    checks: list[DomainCheck] = []
    if not domains:
        return checks
    requests = [_check_request(domain) for domain in domains]
    for ended in get_checker().check_as_completed(requests, concurrency=concurrency):
        with transaction.atomic():
            for index, result in ended:
                domain = domains[index]
                try:
                    with transaction.atomic():  # its own savepoint: a failure loses only this domain
                        checks.append(_record_check(domain_id=domain.pk, result=result, manual=False, actor=SYSTEM))
                except Domain.DoesNotExist:
                    continue  # deleted while DNS was asked
                except DatabaseError:
                    logger.exception("could not record a check", extra={"host": domain.hostname})
    return checks


def _check_actor(*, user: AbstractBaseUser, domain: Domain) -> Actor:
    """The workspace's owners and admins check as the tenant; support staff as staff; anyone else is refused."""
    try:
        require_manager(user=user, workspace=domain.workspace)
        return Actor.tenant(user)
    except NotAllowed:
        if is_support_staff(user, permission=STAFF_PERMISSION):
            return Actor.staff(user)
        raise  # the tenant's reason is the one worth showing


def _check_request(domain: Domain) -> CheckRequest:
    return CheckRequest(hostname=domain.hostname, token=domain.token, is_apex=domain.is_apex, target=domain.target)


def _record_check(*, domain_id: uuid.UUID, result: CheckResult, manual: bool, actor: Actor) -> DomainCheck:
    now = timezone.now()
    hostname = Domain.objects.filter(pk=domain_id).values_list("hostname", flat=True).first()
    if hostname is None:
        raise Domain.DoesNotExist
    with transaction.atomic():
        # The hostname first, then the domain (the one lock order): a check that proves a
        # pending claim decides the hostname against every other workspace's claim on it.
        Hostname.objects.lock(hostname)
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
        to_status, reason, fields = _status_after_check(domain, result, now=now)
        fields.update(last_checked_at=now, last_check_outcome=result.outcome.value, check_claimed_until=None)
        for name, value in fields.items():
            setattr(domain, name, value)
        domain.status = to_status
        fields["next_check_at"] = next_check_at(domain, now=now, transient=not result.definitive)
        if to_status != from_status:
            domain_transition(domain=domain, to_status=to_status, actor=actor, reason=reason, **fields)
            if from_status == DomainStatus.PENDING and to_status in (DomainStatus.PROVISIONING, DomainStatus.ACTIVE):
                # The first to prove DNS control wins; the other workspaces' claims end failed.
                rival_claims_fail(hostname=domain.hostname, keep=domain, reason=OTHER_PROVED_MESSAGE)
        else:
            # Most checks change no status: one UPDATE of the row already locked above.
            Domain.objects.filter(pk=domain.pk).update(**fields, updated_at=now)
    logger.info(
        "domain checked",
        extra={"host": domain.hostname, "outcome": result.outcome.value, "status": to_status, "manual": manual},
    )
    return check


def _status_after_check(domain: Domain, result: CheckResult, *, now: datetime) -> tuple[str, str, dict]:
    """The status the check leads to, why, and the fields that change with it (under the hostname's lock)."""
    status = domain.status
    if status not in CHECKED_STATUSES or not result.definitive:
        # Failed and suspended domains only record the check; a transient
        # answer says nothing about the domain, so it changes nothing.
        return status, "", {}
    if result.verified:
        if status == DomainStatus.PENDING:
            refusal = claim_refusal(hostname=domain.hostname, workspace=domain.workspace)
            if refusal is not None:
                # Proven too late: another workspace's domain holds the hostname, or support blocked it.
                reason = BLOCKED_REASON if isinstance(refusal, HostnameBlocked) else OTHER_PROVED_MESSAGE
                return DomainStatus.FAILED, reason, {"pending_since": None}
            # With CloudFront on, proof leads to its tenant and certificate first (domains.services.provisioning).
            proven = DomainStatus.PROVISIONING if cdn_enabled() else DomainStatus.ACTIVE
            return proven, result.message, {"verified_at": now, "pending_since": None, "grace_until": None}
        if status == DomainStatus.MISCONFIGURED:
            if not (problem := certificate_problem(domain)):
                return DomainStatus.ACTIVE, f"DNS correct again: {result.message}", {"grace_until": None}
            # DNS is right but the certificate is not: the grace runs out all the same.
            if domain.grace_until is not None and now >= domain.grace_until:
                return DomainStatus.FAILED, f"Grace period over: {problem}", {"grace_until": None}
        return status, "", {}
    if status == DomainStatus.ACTIVE:
        grace_until = now + timedelta(seconds=settings.DOMAIN_GRACE_PERIOD)
        return DomainStatus.MISCONFIGURED, result.message, {"grace_until": grace_until}
    if status == DomainStatus.MISCONFIGURED and domain.grace_until is not None and now >= domain.grace_until:
        return DomainStatus.FAILED, f"Grace period over: {result.message}", {"grace_until": None}
    if status == DomainStatus.PENDING and now >= pending_deadline(domain):
        days = settings.DOMAIN_PENDING_GIVE_UP / 86400
        return DomainStatus.FAILED, f"No DNS proof after {days:g} days: {result.message}", {"pending_since": None}
    return status, "", {}


def _prune_checks(domain: Domain) -> None:
    """Keep the newest DOMAIN_CHECKS_KEPT checks of the domain."""
    stale = list(
        DomainCheck.objects.filter(domain=domain)
        .order_by("-checked_at", "-id")
        .values_list("pk", flat=True)[settings.DOMAIN_CHECKS_KEPT :]
    )
    if stale:
        DomainCheck.objects.filter(pk__in=stale).delete()

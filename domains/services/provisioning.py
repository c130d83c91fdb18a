"""HTTPS through CloudFront: converge each domain's distribution tenant to its goal, and what that does to the domain.

A proven domain enters `provisioning` (domains.cdn.intent records the goal in
the same transaction, and the edge item is written, so HTTP works and
CloudFront can validate). A step then makes CloudFront match the goal, one
idempotent call after another:

- serve: find the tenant (by id, else by hostname: a create that happened
  before a crash is adopted, never made twice), create it if it is missing,
  request a new certificate if asked, enable it, read its managed certificate
  and, once issued, attach it (UpdateDistributionTenant with the latest ETag).
  Issued, attached, enabled and the edge item delivered: the domain is
  `active`. A certificate that cannot be issued fails the domain; one that
  later turns expired, revoked or inactive makes it `misconfigured` and a new
  one is requested.
- disabled (suspension): disable the tenant and invalidate its cache.
- deleted (failed or deleted domains): disable the tenant, then delete it.

No transaction is open while CloudFront is asked. A step holds its row's
claim (a lease); what it saw is written under the locks afterwards, and a
goal that changed meanwhile (its revision) just sends the row round again.
Polls back off while a certificate is pending; errors back off too; the
sweep resumes any row that is due, so an outage or a lost task only delays.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from domains.cdn import client
from domains.cdn.client import CdnError, CdnUnavailable, Certificate, Tenant, TenantConflict
from domains.cdn.intent import STEP_TASK, cdn_change_record, cdn_enabled
from domains.cdn.states import ISSUANCE_FAILED, NO_LONGER_VALID, CertificateStatus, TenantGoal, problem_text
from domains.edge.states import EdgeSync
from domains.edge.status import domain_edge_status
from domains.enqueue import enqueue_on_commit
from domains.errors import InvalidTransition
from domains.models import CdnTenant, CheckOutcome, Domain, DomainStatus, Hostname
from domains.services.lifecycle import SYSTEM, Actor, domain_fail, domain_transition, event_record
from domains.services.schedule import next_check_at
from domains.signals import certificate_event_type, domain_changed

logger = logging.getLogger(__name__)

LIVE_REASON = "HTTPS certificate issued and attached: live over HTTPS."
VALID_AGAIN_REASON = "HTTPS certificate valid again: live over HTTPS."


class HostnameElsewhere(CdnError):
    """CloudFront serves the hostname from a tenant this portal does not manage."""


@dataclass
class Seen:
    """What one step learnt from CloudFront and did there."""

    tenant: Tenant | None = None
    certificate: Certificate | None = None
    absent: bool = False  # no tenant exists for the row
    deleted: bool = False
    requested: bool = False  # a new certificate was requested (or came with the create)
    invalidated: bool = False
    name: str = ""  # a new Name the row had to take


# --- Claims -----------------------------------------------------------------------


def _lease_until(now: datetime) -> datetime:
    # Random microseconds: our own claim value, so we can tell our rows from another sweeper's.
    return now + timedelta(seconds=settings.CLOUDFRONT_STEP_LEASE, microseconds=secrets.randbelow(1_000_000))


def _free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def cdn_step(*, tenant_row_id: int) -> CdnTenant | None:
    """Converge one row now (the task queued when its goal changed); None when it is not due or another step holds it."""
    now = timezone.now()
    until = _lease_until(now)
    claimed = CdnTenant.objects.filter(_free(now), pk=tenant_row_id, next_attempt_at__lte=now).update(
        claimed_until=until
    )
    if not claimed:
        return None
    return _converge(CdnTenant.objects.get(pk=tenant_row_id))


def cdn_sweep(*, limit: int | None = None) -> int:
    """Converge the rows that are due (beat's periodic run): lost tasks, polls, retries after errors.

    Each row is claimed just before its step, so a long sweep never works on
    a row whose claim ran out meanwhile; concurrent sweeps take different rows.
    """
    if not cdn_enabled():
        return 0
    done: list[int] = []
    for _ in range(limit or settings.CLOUDFRONT_SWEEP_BATCH):
        row = _claim_next(skip=done)
        if row is None:
            break
        try:
            _converge(row)
        except Exception:  # one row's trouble (a database error) must not stop the others; its claim runs out
            logger.exception("cloudfront step failed", extra={"host": row.hostname})
        done.append(row.pk)
    if done:
        logger.info("cloudfront sweep", extra={"rows": len(done)})
    return len(done)


def _claim_next(*, skip: list[int]) -> CdnTenant | None:
    """Claim the row due first; one sweep steps a row once (a row due again at once has its own task queued)."""
    while True:
        now = timezone.now()
        row_id = (
            CdnTenant.objects.filter(_free(now), next_attempt_at__lte=now)
            .exclude(pk__in=skip)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if row_id is None:
            return None
        if CdnTenant.objects.filter(_free(now), pk=row_id).update(claimed_until=_lease_until(now)):
            return CdnTenant.objects.get(pk=row_id)


# --- One step ---------------------------------------------------------------------


def _converge(row: CdnTenant) -> CdnTenant:
    revision = row.revision
    seen = Seen()
    error: Exception | None = None
    try:
        if row.goal == TenantGoal.DELETED:
            _delete(row, seen)
        elif row.goal == TenantGoal.DISABLED:
            _disable(row, seen)
        else:
            _serve(row, seen)
    except (CdnUnavailable, CdnError) as exc:
        error = exc
        level = logging.WARNING if isinstance(exc, CdnUnavailable) else logging.ERROR
        logger.log(level, "cloudfront step failed; will retry", extra={"host": row.hostname, "error": str(exc)})
    return _record(row_id=row.pk, revision=revision, seen=seen, error=error)


def _base_name(row: CdnTenant) -> str:
    return row.name.rsplit("-", 1)[0] if row.generation > 1 else row.name


def _ours(row: CdnTenant, tenant: Tenant) -> bool:
    """The tenant is this row's (its name, or an earlier generation's)."""
    base = _base_name(row)
    return tenant.id == row.tenant_id or tenant.name == base or tenant.name.startswith(base + "-")


def _locate(row: CdnTenant) -> Tenant | None:
    """The row's tenant at CloudFront: by id, else by hostname when it carries the row's name; None if there is none."""
    if row.tenant_id:
        tenant = client.get_tenant(row.tenant_id)
        if tenant is not None:
            return tenant
    found = client.find_tenant(row.hostname)
    if found is None:
        return None
    if _ours(row, found):
        return found
    _foreign(row, found)
    return None


def _foreign(row: CdnTenant, found: Tenant) -> None:
    """Another tenant serves the hostname: wait while it is one of ours being removed, else say so."""
    other = CdnTenant.objects.filter(Q(tenant_id=found.id) | Q(name=found.name)).exclude(pk=row.pk).first()
    if other is not None and other.goal != TenantGoal.ENABLED:
        raise CdnUnavailable(f"waiting for the hostname's previous tenant {found.id} to be removed")
    raise HostnameElsewhere(
        f"CloudFront serves {row.hostname} from tenant {found.id} ({found.name}), which this portal does not manage",
        code="HostnameInAnotherTenant",
    )


def _serve(row: CdnTenant, seen: Seen) -> None:
    tenant = _locate(row)
    if tenant is None:
        tenant = _create(row, seen)
        seen.requested = True  # the create asks for the managed certificate
    seen.tenant = tenant
    if row.request_certificate and not seen.requested:
        tenant = seen.tenant = client.update_tenant(tenant, request_certificate=True)
        seen.requested = True
    if not tenant.enabled:
        tenant = seen.tenant = client.update_tenant(tenant, enabled=True)
    certificate = seen.certificate = client.get_certificate(tenant.id)
    if (
        certificate is not None
        and certificate.status == CertificateStatus.ISSUED
        and certificate.arn
        and tenant.certificate_arn != certificate.arn
    ):
        seen.tenant = client.update_tenant(tenant, certificate_arn=certificate.arn)


def _create(row: CdnTenant, seen: Seen) -> Tenant:
    name = row.name
    for _ in range(2):
        try:
            return client.create_tenant(
                name=name, hostname=row.hostname, workspace_id=row.workspace_public_id, enabled=True
            )
        except TenantConflict:
            found = client.find_tenant(row.hostname)
            if found is not None:
                if _ours(row, found):
                    return found  # created by an earlier step whose answer was lost
                _foreign(row, found)
            # The name is taken by no tenant serving the hostname (one deleted moments ago): the next one.
            name = seen.name = client.tenant_name(_base_name(row).removeprefix("ve-"), row.generation + 1)
    raise CdnError(f"could not create a tenant for {row.hostname}: its names are taken", code="EntityAlreadyExists")


def _disable(row: CdnTenant, seen: Seen) -> None:
    tenant = _locate(row)
    if tenant is None:
        seen.absent = True
        return
    seen.tenant = tenant
    if tenant.enabled:
        seen.tenant = client.update_tenant(tenant, enabled=False)
    if row.invalidate:
        # One reference per goal change: a retried step asks for the same invalidation again.
        client.invalidate_tenant(tenant.id, reference=f"{row.name}-r{row.revision}")
        seen.invalidated = True


def _delete(row: CdnTenant, seen: Seen) -> None:
    tenant = _locate(row)
    if tenant is None:
        seen.absent = seen.deleted = True
        return
    seen.tenant = tenant
    if tenant.enabled:
        tenant = seen.tenant = client.update_tenant(tenant, enabled=False)
    client.delete_tenant(tenant)  # TenantNotDisabled while the disabling deploys: retried later
    seen.deleted = True


# --- What a step saw, and what it does to the domain ---------------------------------


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off with jitter after `attempts` failed steps in a row."""
    base = settings.CLOUDFRONT_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(settings.CLOUDFRONT_RETRY_MAX_SECONDS, base) * random.uniform(0.8, 1.2))


def poll_delay(polls: int) -> timedelta:
    """How long to wait before asking about a pending certificate again: doubling from the base, up to the max."""
    base = settings.CLOUDFRONT_POLL_BASE_SECONDS * 2 ** max(0, polls)
    return timedelta(seconds=min(settings.CLOUDFRONT_POLL_MAX_SECONDS, base))


def _observe(row: CdnTenant, seen: Seen, now: datetime) -> None:
    if seen.name:
        row.name = seen.name
        row.generation += 1
    if seen.tenant is not None:
        row.tenant_id = seen.tenant.id
        row.enabled = seen.tenant.enabled
        row.synced_at = now
    if seen.certificate is not None:
        status = seen.certificate.status or ""
        if status == CertificateStatus.ISSUED and row.certificate_status != CertificateStatus.ISSUED:
            row.certificate_issued_at = now
        row.certificate_status = status
        row.certificate_arn = seen.certificate.arn
    elif seen.requested:
        row.certificate_status = CertificateStatus.PENDING_VALIDATION
    if seen.tenant is not None:
        row.certificate_attached = bool(row.certificate_arn) and seen.tenant.certificate_arn == row.certificate_arn
    if seen.requested:
        row.polls = 0
        if row.certificate_status != CertificateStatus.ISSUED:
            row.certificate_issued_at = None
    if seen.deleted or seen.absent:
        row.enabled = None if seen.absent else False
        row.certificate_attached = False
        if seen.deleted:
            row.deleted_at = now


def _record(*, row_id: int, revision: int, seen: Seen, error: Exception | None) -> CdnTenant:
    now = timezone.now()
    hostname = CdnTenant.objects.filter(pk=row_id).values_list("hostname", flat=True).get()
    with transaction.atomic():
        # The one lock order: the hostname, its domain, then this row (as domain_transition takes them).
        Hostname.objects.lock(hostname)
        domain_id = CdnTenant.objects.filter(pk=row_id).values_list("domain_id", flat=True).get()
        domain = (
            Domain.objects.select_for_update().select_related("workspace").filter(pk=domain_id).first()
            if domain_id
            else None
        )
        row = CdnTenant.objects.select_for_update().get(pk=row_id)
        current = row.revision == revision
        certificate_before, status_before = row.certificate_status, domain.status if domain else ""
        _observe(row, seen, now)
        if current and seen.requested:
            row.request_certificate = False
        if current and seen.invalidated:
            row.invalidate = False
        if error is None:
            row.attempts = 0
            row.last_error = ""
        else:
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:500]
        row.claimed_until = None
        row.save()
        if current and domain is not None and row.goal == TenantGoal.ENABLED:
            _apply_to_domain(row, domain, now)
            row.refresh_from_db()
        if domain is not None and row.certificate_status and row.certificate_status != certificate_before:
            _announce_certificate(domain_id=domain.pk, certificate_status=row.certificate_status, status=status_before)
        if row.revision != revision:
            due = now  # the goal changed while CloudFront was asked: go again with the new one
        elif error is not None:
            due = now + retry_delay(row.attempts)
        else:
            due = _next_attempt(row, domain, now)
        CdnTenant.objects.filter(pk=row.pk).update(next_attempt_at=due, polls=row.polls)
        row.next_attempt_at = due
        if due is not None and due <= now:
            enqueue_on_commit(STEP_TASK, row.pk, host=row.hostname, goal=row.goal)
    return row


def _next_attempt(row: CdnTenant, domain: Domain | None, now: datetime) -> datetime | None:
    """When the row should be looked at again after a step without errors; None when it has nothing left to do."""
    if row.goal == TenantGoal.DELETED:
        return None if row.deleted_at else now
    if row.goal == TenantGoal.DISABLED:
        return None if (row.enabled is not True and not row.invalidate) else now
    if domain is None:
        return None
    if row.request_certificate:
        return now
    if row.is_live and domain.status != DomainStatus.PROVISIONING and not row.problem:
        # Watch an issued certificate (CloudFront renews it; expiry or revocation shows here).
        jitter = settings.CLOUDFRONT_CERTIFICATE_RECHECK * random.uniform(-0.05, 0.05)
        return now + timedelta(seconds=settings.CLOUDFRONT_CERTIFICATE_RECHECK + jitter)
    if row.is_live:
        # Issued and attached: only the edge item (or the DNS check, when misconfigured) is awaited.
        return now + timedelta(seconds=settings.CLOUDFRONT_POLL_BASE_SECONDS)
    delay = poll_delay(row.polls)
    row.polls += 1
    return now + delay


def _apply_to_domain(row: CdnTenant, domain: Domain, now: datetime) -> None:
    """Move the domain as its tenant's state says (under the hostname's, the domain's and the row's locks)."""
    status = row.certificate_status
    bad = status in ISSUANCE_FAILED or status in NO_LONGER_VALID
    if domain.status == DomainStatus.PROVISIONING:
        if bad:
            row.problem = problem_text(status)
            _save_problem(row)
            domain_fail(domain=domain, actor=SYSTEM, reason=row.problem)
        elif row.is_live and _edge_serving(domain):
            _activate(domain, reason=LIVE_REASON, now=now)
        elif row.provisioning_since and now >= row.provisioning_since + timedelta(
            seconds=settings.CLOUDFRONT_PROVISIONING_GIVE_UP
        ):
            days = settings.CLOUDFRONT_PROVISIONING_GIVE_UP / 86400
            reason = (
                f"HTTPS could not be set up within {days:g} days ({_give_up_detail(row)}). Press Retry to start over."
            )
            row.problem = reason[:500]
            _save_problem(row)
            domain_fail(domain=domain, actor=SYSTEM, reason=reason)
        return
    if domain.status not in (DomainStatus.ACTIVE, DomainStatus.MISCONFIGURED):
        return
    if bad and not row.problem:
        # The certificate went bad under a served domain: misconfigured (the grace starts), and ask for a new one.
        row.problem = problem_text(status)
        row.request_certificate = True
        _save_problem(row, "request_certificate")
        if domain.status == DomainStatus.ACTIVE:
            domain.status = DomainStatus.MISCONFIGURED
            domain_transition(
                domain=domain,
                to_status=DomainStatus.MISCONFIGURED,
                actor=SYSTEM,
                reason=row.problem,
                grace_until=now + timedelta(seconds=settings.DOMAIN_GRACE_PERIOD),
                next_check_at=now + timedelta(seconds=settings.DOMAIN_PENDING_FAST_INTERVAL),
            )
    elif bad and row.problem != problem_text(status):
        # Another problem before the first was solved (say, the new certificate failed): people read the current one.
        row.problem = problem_text(status)
        row.request_certificate = row.request_certificate or status in NO_LONGER_VALID  # as its text says
        _save_problem(row, "request_certificate")
    elif row.is_live and row.problem:
        row.problem = ""
        _save_problem(row)
        if domain.status == DomainStatus.MISCONFIGURED and domain.last_check_outcome == CheckOutcome.VERIFIED:
            _activate(domain, reason=VALID_AGAIN_REASON, now=now, grace_until=None)


def _activate(domain: Domain, *, reason: str, now: datetime, **fields) -> None:
    """Live over HTTPS: → active, with the recheck of an active domain."""
    domain.status = DomainStatus.ACTIVE
    domain_transition(
        domain=domain,
        to_status=DomainStatus.ACTIVE,
        actor=SYSTEM,
        reason=reason,
        next_check_at=next_check_at(domain, now=now, transient=False),
        **fields,
    )


def _announce_certificate(*, domain_id, certificate_status: str, status: str) -> None:
    """`domain.certificate.<state>` once per observed change (a poll that sees the same state changes nothing).

    Sent after the domain moved, so the payload is the domain as it is now;
    previous_status is its status before this step: the same as its status
    now unless this change also moved it (announced by `domain.<status>` too).
    """
    domain = Domain.objects.select_related("workspace").get(pk=domain_id)  # locked above; reread after any move
    domain_changed.send(
        Domain, domain=domain, event_type=certificate_event_type(certificate_status), previous_status=status
    )


def _give_up_detail(row: CdnTenant) -> str:
    """Why provisioning ended, in words for the tenant: CloudFront's own error (tenant ids, codes) stays with staff."""
    if row.last_error.startswith(HostnameElsewhere.__name__):
        return "another CloudFront distribution already serves this hostname; VE.AI support can help"
    if row.last_error:
        return "CloudFront kept refusing the setup; VE.AI support can see why"
    if row.certificate_status:
        return "the certificate was never issued"
    return "no certificate was requested"


def _save_problem(row: CdnTenant, *fields: str) -> None:
    CdnTenant.objects.filter(pk=row.pk).update(problem=row.problem, **{name: getattr(row, name) for name in fields})


def _edge_serving(domain: Domain) -> bool:
    return domain_edge_status(domain=domain)["state"] == EdgeSync.SERVING


# --- Asked for by people ----------------------------------------------------------------


def certificate_problem(domain: Domain) -> str:
    """Why the domain's HTTPS is broken right now (its certificate), or "" when it is not (or CloudFront is off)."""
    if not cdn_enabled():
        return ""
    return CdnTenant.objects.filter(domain=domain).values_list("problem", flat=True).first() or ""


def domain_reprovision_as(*, domain: Domain, actor: Actor, reason: str) -> CdnTenant | None:
    """Set HTTPS up again for a proven domain (the caller checked who may): → provisioning, its tenant to serve.

    The tenant is found or made anew, a certificate that is not issued is
    requested again, and the domain turns active again once all is in place.
    """
    if not cdn_enabled():
        raise InvalidTransition("HTTPS through CloudFront is not configured on this server.")
    with transaction.atomic():
        Hostname.objects.lock(domain.hostname)
        locked = Domain.objects.select_for_update().select_related("workspace").get(pk=domain.pk)
        if locked.status not in (DomainStatus.PROVISIONING, DomainStatus.ACTIVE, DomainStatus.MISCONFIGURED):
            raise InvalidTransition(
                "Only a domain whose DNS is proven (not suspended or failed) can be re-provisioned."
            )
        if locked.status == DomainStatus.MISCONFIGURED and locked.last_check_outcome != CheckOutcome.VERIFIED:
            raise InvalidTransition("This domain's DNS record is wrong; it must be fixed before HTTPS is set up again.")
        if locked.status == DomainStatus.PROVISIONING:
            event_record(domain=locked, actor=actor, from_status=locked.status, to_status=locked.status, reason=reason)
            return cdn_change_record(domain=locked, to_status=DomainStatus.PROVISIONING)
        domain_transition(
            domain=locked, to_status=DomainStatus.PROVISIONING, actor=actor, reason=reason, next_check_at=None
        )
        return CdnTenant.objects.filter(domain=locked).first()


BACKFILL_REASON = "HTTPS set up for a domain proven before CloudFront provisioning was on"


def domains_without_tenant():
    """Proven, served domains that have no CloudFront tenant (proven while HTTPS provisioning was off)."""
    return (
        Domain.objects.filter(status__in=(DomainStatus.ACTIVE, DomainStatus.MISCONFIGURED), cdn_tenant__isnull=True)
        .select_related("workspace")
        .order_by("hostname", "pk")
    )


def cdn_backfill(*, dry_run: bool = False) -> tuple[list[Domain], list[tuple[Domain, str]]]:
    """Give each domain without a tenant one (→ provisioning; live over HTTPS once issued); (done, refused with why).

    For switching CloudFront on under domains that were proven without it. A
    misconfigured domain whose DNS is wrong is refused (it must be fixed first).
    """
    if not cdn_enabled():
        raise InvalidTransition("HTTPS through CloudFront is not configured on this server.")
    done: list[Domain] = []
    refused: list[tuple[Domain, str]] = []
    for domain in domains_without_tenant():
        if domain.status == DomainStatus.MISCONFIGURED and domain.last_check_outcome != CheckOutcome.VERIFIED:
            refused.append((domain, "its DNS record is wrong"))
            continue
        if not dry_run:
            try:
                domain_reprovision_as(domain=domain, actor=SYSTEM, reason=BACKFILL_REASON)
            except (InvalidTransition, Domain.DoesNotExist) as exc:
                refused.append((domain, str(exc) or "it no longer exists"))
                continue
        done.append(domain)
    return done, refused

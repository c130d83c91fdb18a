"""The one place a domain's CloudFront goal is recorded, inside the transaction that changes the domain.

Like the edge outbox: the goal (serve, disabled, deleted) is stored with the
status change that calls for it, a step is queued once the transaction
commits, and the periodic sweep (domains.services.provisioning) resumes
whatever a crash, a lost task or a CloudFront outage left unfinished.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from domains.cdn.client import tenant_name
from domains.cdn.states import CertificateStatus, TenantGoal
from domains.enqueue import enqueue_on_commit
from domains.models import CdnTenant, Domain, DomainStatus

STEP_TASK = "domains.cdn_step"


def cdn_enabled() -> bool:
    """Whether proven domains get a CloudFront tenant (CLOUDFRONT_ENABLED with a distribution to put them in).

    Off, a domain goes from DNS proof straight to active, as before CloudFront
    SaaS Manager: the local stack without the stand-in and most tests.
    """
    return bool(settings.CLOUDFRONT_ENABLED and settings.CLOUDFRONT_DISTRIBUTION_ID)


def cdn_change_record(*, domain: Domain, to_status: str = "", deleted: bool = False) -> CdnTenant | None:
    """Record, inside the caller's transaction, what the domain's tenant should now be; None when nothing changes.

    - provisioning (DNS proven, or support re-provisions): the tenant should
      serve. The first time a row is made (its name derived from the domain's
      id); a tenant deleted earlier is made anew under the next name; a tenant
      whose certificate is not issued gets a new certificate request.
    - suspended: disabled, and its cached objects invalidated.
    - failed, or the domain deleted: disabled, then deleted (the hostname is
      nobody's at CloudFront until a domain proves it again).
    Other statuses leave the tenant as it is.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("cdn_change_record must run inside the transaction that changes the domain")
    if not cdn_enabled():
        return None
    row = CdnTenant.objects.select_for_update().filter(domain=domain).first()
    now = timezone.now()
    if deleted or to_status == DomainStatus.FAILED:
        if row is None or row.goal == TenantGoal.DELETED:
            return None
        _aim(row, TenantGoal.DELETED)
    elif to_status == DomainStatus.SUSPENDED:
        if row is None:
            return None
        _aim(row, TenantGoal.DISABLED)
        row.invalidate = True
    elif to_status == DomainStatus.PROVISIONING:
        if row is None:
            row = CdnTenant(
                domain=domain,
                hostname=domain.hostname,
                workspace_public_id=domain.workspace.public_id,
                name=tenant_name(domain.pk.hex),
            )
        elif row.deleted_at is not None:
            row.generation += 1
            row.name = tenant_name(domain.pk.hex, row.generation)
            row.tenant_id = ""
            row.deleted_at = None
            row.enabled = None
            row.certificate_status = ""
            row.certificate_arn = ""
            row.certificate_attached = False
            row.certificate_issued_at = None
        else:
            # The tenant exists: a certificate that is not issued (timed out, expired, or one
            # whose round ended without it) is requested again; an issued one is kept.
            row.request_certificate = bool(row.tenant_id) and row.certificate_status != CertificateStatus.ISSUED
        _aim(row, TenantGoal.ENABLED)
        row.provisioning_since = now
        row.polls = 0
        row.problem = ""
    else:
        return None
    row.next_attempt_at = now
    row.attempts = 0
    row.last_error = ""
    row.save()
    enqueue_on_commit(STEP_TASK, row.pk, host=row.hostname, goal=row.goal)
    return row


def _aim(row: CdnTenant, goal: TenantGoal) -> None:
    if row.pk is not None:
        row.revision += 1
    row.goal = goal

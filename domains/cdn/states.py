"""The CloudFront vocabulary: a managed certificate's status, what a tenant should be, and what each means to people.

Pure (no models, no I/O), so the model layer, the client and the interfaces can
all import it. No other module spells CloudFront's certificate statuses
(tests/test_layering.py checks it).
"""

from django.db import models


class CertificateStatus(models.TextChoices):
    """A CloudFront-managed certificate's status, as GetManagedCertificateDetails spells it (ManagedCertificateStatus)."""

    PENDING_VALIDATION = "pending-validation", "Pending validation"
    ISSUED = "issued", "Issued"
    INACTIVE = "inactive", "Inactive"
    EXPIRED = "expired", "Expired"
    VALIDATION_TIMED_OUT = "validation-timed-out", "Validation timed out"
    REVOKED = "revoked", "Revoked"
    FAILED = "failed", "Failed"


# Issuance never succeeded: the domain fails and the tenant's Retry starts over.
ISSUANCE_FAILED = frozenset({CertificateStatus.VALIDATION_TIMED_OUT, CertificateStatus.FAILED})
# Issued once, unusable now: a served domain turns misconfigured and a new certificate is requested.
NO_LONGER_VALID = frozenset({CertificateStatus.EXPIRED, CertificateStatus.REVOKED, CertificateStatus.INACTIVE})

# What CloudFront is asked to do with the tenant's validation token (ValidationTokenHost):
# "cloudfront" answers the HTTP validation itself once the hostname's DNS points at it.
VALIDATION_TOKEN_HOST = "cloudfront"
VALIDATION_TOKEN_HOSTS = frozenset({"cloudfront", "self-hosted"})


class TenantGoal(models.TextChoices):
    """What the portal wants a distribution tenant to be; a worker converges CloudFront to it."""

    ENABLED = "enabled", "Enabled"  # exists, enabled, its certificate issued and attached: serving over HTTPS
    DISABLED = "disabled", "Disabled"  # kept, but CloudFront answers nothing for it (suspension)
    DELETED = "deleted", "Deleted"  # disabled, then deleted


# Plain language for people: why HTTPS stopped or never started.
CERTIFICATE_PROBLEM = {
    CertificateStatus.VALIDATION_TIMED_OUT: (
        "The HTTPS certificate could not be issued: the certificate authority could not reach this domain "
        "through VE.AI in time. Check that the DNS record is still in place, then press Retry."
    ),
    CertificateStatus.FAILED: (
        "The HTTPS certificate could not be issued (the certificate authority refused it). "
        "Check that the DNS record is in place and that no CAA record forbids Amazon, then press Retry."
    ),
    CertificateStatus.EXPIRED: "The HTTPS certificate expired; a new one is being requested.",
    CertificateStatus.REVOKED: "The HTTPS certificate was revoked; a new one is being requested.",
    CertificateStatus.INACTIVE: "The HTTPS certificate is no longer in use; a new one is being requested.",
}


def certificate_status(value: str | None) -> CertificateStatus | None:
    """CloudFront's status string checked against the values we know (botocore does not check enums)."""
    if value is None or value == "":
        return None
    try:
        return CertificateStatus(value)
    except ValueError:
        raise ValueError(f"unknown managed certificate status {value!r}") from None


def problem_text(status: str) -> str:
    return CERTIFICATE_PROBLEM.get(status, f"The HTTPS certificate is {status}.")

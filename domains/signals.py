"""What the domain services announce, so other apps can react in the same transaction without being imported here.

`domain_changed` is sent inside the transaction of every creation, status
change and deletion (domains/services/lifecycle.py), and of every change of a
domain's certificate status that a CloudFront step observes
(domains/services/provisioning.py), before the commit; a receiver that raises
rolls the change back. notifications/receivers.py writes the event outbox from it.

The event types are spelled here, once: notifications/events.py builds the
catalogue that webhook filters are checked against from DOMAIN_EVENT_TYPES.
"""

from django.dispatch import Signal

from domains.cdn.states import ISSUANCE_FAILED, NO_LONGER_VALID, CertificateStatus
from domains.models import DomainStatus

# kwargs: domain (the locked row, still present for a deletion), event_type
# ("domain.created", "domain.<status>", "domain.certificate.<state>", "domain.deleted"),
# previous_status (the domain's status before the change; "" when created; its
# current status for a certificate change that left the status as it was).
domain_changed = Signal()

DOMAIN_CREATED = "domain.created"
DOMAIN_DELETED = "domain.deleted"


def status_event_type(status: str) -> str:
    return f"domain.{status}"


def certificate_event_type(certificate_status: str) -> str:
    """`domain.certificate.<state>`: CloudFront's status with underscores (event types are dotted identifiers)."""
    return "domain.certificate." + certificate_status.replace("-", "_")


DOMAIN_EVENT_TYPES = (
    DOMAIN_CREATED,
    *(status_event_type(status) for status in DomainStatus.values),
    *(certificate_event_type(status) for status in CertificateStatus.values),
    DOMAIN_DELETED,
)
# A certificate that could not be issued or is no longer valid: people are told (notifications/email.py).
CERTIFICATE_PROBLEM_EVENT_TYPES = frozenset(
    certificate_event_type(status) for status in ISSUANCE_FAILED | NO_LONGER_VALID
)

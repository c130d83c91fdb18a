"""The event-type catalogue: every type an event can have, so a webhook filter naming any other is refused."""

from domains.signals import DOMAIN_EVENT_TYPES

WEBHOOK_TEST = "webhook.test"

# domain.created, domain.<status> for each status, domain.certificate.<state>, domain.deleted, webhook.test.
EVENT_TYPES: tuple[str, ...] = (*DOMAIN_EVENT_TYPES, WEBHOOK_TEST)

# What each event type means to a person (the webhook form, the domain page); they show the type itself next to it
# for whoever writes the receiver.
EVENT_LABELS = {
    "domain.created": "Domain added",
    "domain.pending": "Domain waiting for its DNS records",
    "domain.provisioning": "Setting up HTTPS",
    "domain.active": "Domain went live",
    "domain.misconfigured": "Domain broke (grace period started)",
    "domain.failed": "Domain failed",
    "domain.suspended": "Domain suspended by support",
    "domain.deleted": "Domain deleted",
    "domain.certificate.pending_validation": "Certificate waiting for validation",
    "domain.certificate.issued": "Certificate issued",
    "domain.certificate.inactive": "Certificate no longer in use",
    "domain.certificate.expired": "Certificate expired",
    "domain.certificate.validation_timed_out": "Certificate validation timed out",
    "domain.certificate.revoked": "Certificate revoked",
    "domain.certificate.failed": "Certificate could not be issued",
    WEBHOOK_TEST: "Test event",
}


def event_label(event_type: str) -> str:
    """What the type means to a person; a type added to the catalogue before it has a label is named by its type."""
    return EVENT_LABELS.get(event_type, event_type)


def unknown_event_types(events: list[str]) -> list[str]:
    """The types in `events` that no event ever has, in the order given."""
    return [event for event in events if event not in EVENT_TYPES]


def unknown_event_type_message(event_type: str) -> str:
    return f'Unknown event type "{event_type}". Known types: {", ".join(EVENT_TYPES)}.'

"""The event-type catalogue: every type an event can have, so a webhook filter naming any other is refused."""

from domains.signals import DOMAIN_EVENT_TYPES

WEBHOOK_TEST = "webhook.test"

# domain.created, domain.<status> for each status, domain.certificate.<state>, domain.deleted, webhook.test.
EVENT_TYPES: tuple[str, ...] = (*DOMAIN_EVENT_TYPES, WEBHOOK_TEST)


def unknown_event_types(events: list[str]) -> list[str]:
    """The types in `events` that no event ever has, in the order given."""
    return [event for event in events if event not in EVENT_TYPES]


def unknown_event_type_message(event_type: str) -> str:
    return f'Unknown event type "{event_type}". Known types: {", ".join(EVENT_TYPES)}.'

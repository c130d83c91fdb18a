"""The domain page's Notifications card: `{% load notifications %}{% domain_notifications domain user %}`.

A tag of this app, so the domains app renders the card without importing the
notifications app (tests/test_layering.py).
"""

from urllib.parse import urlsplit

from django import template
from django.conf import settings

from notifications.events import event_label
from notifications.models import WebhookEndpoint
from notifications.selectors import domain_notifications_recent
from workspaces.roles import can_manage, membership_of

register = template.Library()


def endpoint_name(endpoint: WebhookEndpoint) -> str:
    """What the team called the endpoint, or the host its URL points at."""
    return endpoint.description or urlsplit(endpoint.url).hostname or endpoint.url


@register.inclusion_tag("notifications/_domain_notifications.html")
def domain_notifications(domain, user) -> dict:
    """The domain's latest events and what each webhook endpoint made of them; endpoint links for managers only."""
    recent = domain_notifications_recent(domain=domain)
    manager = can_manage(membership_of(user=user, workspace=domain.workspace))
    return {
        "events": [
            {
                "event": event,
                "label": event_label(event.type),
                "deliveries": [
                    {
                        "delivery": delivery,
                        "endpoint_name": endpoint_name(delivery.endpoint),
                        # A description is the team's words; a bare host reads like (and wraps like) a hostname.
                        "endpoint_is_host": not delivery.endpoint.description,
                    }
                    for delivery in event.deliveries.all()
                ],
            }
            for event in recent.events
        ],
        "more": recent.more,
        "retention_days": settings.EVENT_RETENTION_DAYS,
        "has_endpoints": recent.workspace_has_endpoints,
        "can_manage": manager,
    }

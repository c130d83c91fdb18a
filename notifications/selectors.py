"""Reads shared by the API and the admin."""

from django.db.models import QuerySet

from notifications.models import Event


def domain_notification_events(*, domain) -> QuerySet[Event]:
    """The events of one domain, newest first (a deleted domain's events keep only its hostname)."""
    return Event.objects.filter(domain=domain).order_by("-created_at", "-id")

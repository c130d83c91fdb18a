"""Reads shared by the API, the admin and the domain page's Notifications card."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from notifications.models import Event, WebhookDelivery, WebhookEndpoint

# How many events the domain page lists; the rest of the retention window is counted, not shown.
RECENT_EVENTS_SHOWN = 10


def domain_notification_events(*, domain) -> QuerySet[Event]:
    """The events of one domain, newest first (a deleted domain's events keep only its hostname)."""
    return Event.objects.filter(domain=domain).order_by("-created_at", "-id")


@dataclass(frozen=True)
class RecentNotifications:
    """A domain's latest events, each with `.deliveries.all()` to its own workspace's endpoints, endpoint loaded."""

    events: list[Event]
    more: int  # events of the retention window not in `events`
    workspace_has_endpoints: bool


def domain_notifications_recent(
    *, domain, limit: int = RECENT_EVENTS_SHOWN, now: datetime | None = None
) -> RecentNotifications:
    """The domain's newest `limit` events of the last EVENT_RETENTION_DAYS, in at most four queries whatever the count.

    Everything is read through the domain's workspace, so a row that names the
    domain from another workspace (an event, or a delivery to another
    workspace's endpoint) is never shown. Older events wait for the hourly purge;
    the window hides them meanwhile.
    """
    since = (now or timezone.now()) - timedelta(days=settings.EVENT_RETENTION_DAYS)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint__workspace_id=domain.workspace_id)
        .select_related("endpoint")
        .order_by("endpoint__created_at", "endpoint_id")
    )
    in_window = Event.objects.filter(domain=domain, workspace_id=domain.workspace_id, created_at__gte=since)
    events = list(
        in_window.order_by("-created_at", "-id").prefetch_related(Prefetch("deliveries", queryset=deliveries))[:limit]
    )
    # Counted even when fewer than `limit` came back, so the page costs the same queries for 1 event as for 10.
    more = in_window.count() - len(events)
    return RecentNotifications(
        events=events,
        more=more,
        workspace_has_endpoints=WebhookEndpoint.objects.filter(workspace_id=domain.workspace_id).exists(),
    )

"""E-mail to a workspace's owners and admins when one of its domains changes in a way they must know.

Queued by the event receiver after commit and sent by the worker through
Django's SMTP settings (EMAIL_*); an SMTP server that is down makes the task
retry with back-off, so mail is delayed, not lost.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from domains.hostnames import to_unicode
from domains.models import DomainEvent
from domains.presenters import suspension_message
from domains.signals import CERTIFICATE_PROBLEM_EVENT_TYPES
from notifications.models import EmailPreference, Event, WebhookEndpoint
from workspaces.models import Membership
from workspaces.roles import can_manage

EMAIL_TASK = "notifications.email_event"
CERTIFICATE_PROBLEM = "domain.certificate_problem"  # an e-mail kind, not an event type
SUBJECTS = {
    "domain.active": "{host} is live",
    "domain.misconfigured": "{host} needs attention: its DNS or certificate is no longer right",
    "domain.failed": "{host} could not be connected",
    "domain.suspended": "{host} was suspended by VE.AI support",
    "domain.unsuspended": "{host} is no longer suspended",
    CERTIFICATE_PROBLEM: "{host} has a problem with its HTTPS certificate",
}
TEMPLATES = {CERTIFICATE_PROBLEM: "certificate_problem"}  # the others: domain_changed


def email_kind(*, event_type: str, previous_status: str | None, status: str | None = None) -> str | None:
    """Which e-mail an event calls for, or None (most call for none).

    A certificate problem that also moved the domain (to misconfigured or
    failed) is told by that status's e-mail: one e-mail per problem.
    """
    if event_type == "domain.pending" and previous_status == "suspended":
        return "domain.unsuspended"
    if event_type in CERTIFICATE_PROBLEM_EVENT_TYPES:
        return CERTIFICATE_PROBLEM if status == previous_status else None
    return event_type if event_type in SUBJECTS else None


def recipients(*, workspace_id) -> list[str]:
    """Owners and admins with an address who have not turned domain e-mails off."""
    opted_out = set(EmailPreference.objects.filter(domain_emails=False).values_list("user_id", flat=True))
    memberships = Membership.objects.filter(workspace_id=workspace_id).select_related("user").order_by("user_id")
    return [m.user.email for m in memberships if can_manage(m) and m.user.email and m.user_id not in opted_out]


def email_event_send(*, event_id) -> int:
    """Send the e-mail this event calls for to each recipient; returns how many were sent."""
    event = Event.objects.filter(pk=event_id).select_related("workspace").first()
    if event is None:
        return 0
    data = event.payload.get("data", {})
    kind = email_kind(event_type=event.type, previous_status=data.get("previous_status"), status=data.get("status"))
    to = recipients(workspace_id=event.workspace_id)
    if kind is None or not to:
        return 0
    host = data.get("display_hostname") or to_unicode(event.hostname)
    reason = ""
    if event.domain_id and kind != CERTIFICATE_PROBLEM:  # the certificate's problem is its reason
        last = (
            DomainEvent.objects.filter(domain_id=event.domain_id)
            .select_related("domain")
            .order_by("-created_at", "-id")
            .first()
        )
        if last is not None:
            # A suspension's reason is support's internal note: the tenant gets support's message instead.
            reason = suspension_message(last.domain) if kind == "domain.suspended" else last.reason
            reason = reason.rstrip(".")  # the templates end the sentence
    link = settings.PORTAL_URL + reverse("domains:detail", args=[data.get("id")]) if data.get("id") else ""
    context = {
        "kind": kind,
        "host": host,
        "workspace": event.workspace.name,
        "reason": reason,
        "grace_until": data.get("grace_until"),
        "problem": (data.get("certificate") or {}).get("problem"),
        "link": link,
        "settings_link": settings.PORTAL_URL + reverse("notifications:email_settings"),
    }
    subject = SUBJECTS[kind].format(host=host)
    template = TEMPLATES.get(kind, "domain_changed")
    text = render_to_string(f"notifications/email/{template}.txt", context)
    html = render_to_string(f"notifications/email/{template}.html", context)
    with get_connection() as connection:
        messages = []
        for address in to:
            message = EmailMultiAlternatives(
                subject, text, settings.DEFAULT_FROM_EMAIL, [address], connection=connection
            )
            message.attach_alternative(html, "text/html")
            messages.append(message)
        return connection.send_messages(messages) or 0


def endpoint_disabled_send(*, endpoint_id) -> int:
    """Tell the workspace's owners and admins that a webhook endpoint was disabled after failing for days."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).select_related("workspace").first()
    if endpoint is None or endpoint.enabled:
        return 0
    to = recipients(workspace_id=endpoint.workspace_id)
    if not to:
        return 0
    context = {"url": endpoint.url, "workspace": endpoint.workspace.name, "days": settings.WEBHOOK_DISABLE_AFTER_DAYS}
    text = render_to_string("notifications/email/endpoint_disabled.txt", context)
    with get_connection() as connection:
        messages = [
            EmailMultiAlternatives(
                f"Webhook endpoint disabled: {endpoint.url}",
                text,
                settings.DEFAULT_FROM_EMAIL,
                [address],
                connection=connection,
            )
            for address in to
        ]
        return connection.send_messages(messages) or 0

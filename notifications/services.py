"""Writes for notifications: keyword-only, atomic."""

import json
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from notifications.models import EmailPreference, Event


def event_publish(*, workspace_id, domain_id, hostname: str, event_type: str, data: dict) -> Event:
    """Write one event to the outbox; call inside the transaction of the change it tells of."""
    now = timezone.now()
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    # Through JSON once, so what is stored is exactly what a receiver will parse.
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    with transaction.atomic():
        return Event.objects.create(
            workspace_id=workspace_id,
            domain_id=domain_id,
            hostname=hostname,
            type=event_type,
            payload=payload,
            created_at=now,
        )


def events_purge(*, now=None) -> int:
    """Delete events older than EVENT_RETENTION_DAYS; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENT_RETENTION_DAYS)
    with transaction.atomic():
        deleted, _ = Event.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def email_preference_set(*, user, domain_emails: bool):
    """Turn a person's domain e-mails on or off (their own choice, for every workspace)."""
    with transaction.atomic():
        preference, _ = EmailPreference.objects.update_or_create(user=user, defaults={"domain_emails": domain_emails})
    return preference

"""Turns domains.signals.domain_changed into an outbox row, in the same transaction as the change.

The same receiver serves status changes and certificate changes (`domain.certificate.<state>`):
the payload is the API's domain object, whose `certificate` carries the status and the problem.
"""

from django.dispatch import receiver

from domains.api.serializers import DomainSerializer
from domains.enqueue import enqueue_on_commit
from domains.signals import DOMAIN_DELETED, domain_changed
from notifications.email import EMAIL_TASK, email_kind
from notifications.services import event_publish
from notifications.webhooks import deliveries_fan_out


@receiver(domain_changed, dispatch_uid="notifications.event_outbox")
def record_domain_event(sender, *, domain, event_type: str, previous_status: str, **kwargs) -> None:
    data = dict(DomainSerializer(domain).data)
    data["previous_status"] = previous_status or None
    event = event_publish(
        workspace_id=domain.workspace_id,
        domain_id=None if event_type == DOMAIN_DELETED else domain.pk,
        hostname=domain.hostname,
        event_type=event_type,
        data=data,
    )
    deliveries_fan_out(event=event)
    if email_kind(event_type=event_type, previous_status=previous_status, status=domain.status):
        enqueue_on_commit(EMAIL_TASK, str(event.pk), host=domain.hostname)

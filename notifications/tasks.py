"""Thin Celery tasks for notifications."""

import smtplib

from celery import shared_task

from notifications import email, services, webhooks


@shared_task(name="notifications.events_purge", ignore_result=True)
def events_purge() -> None:
    services.events_purge()


@shared_task(name="notifications.webhook_deliver", ignore_result=True, acks_late=True)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt of one delivery (a batch of one); a retry comes back through the sweep when it is due."""
    webhooks.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="notifications.webhook_sweep", ignore_result=True)
def webhook_sweep() -> int:
    """Claim and send due deliveries in batches for at most one sweep period."""
    return webhooks.deliveries_due()


# Mail waits out an SMTP outage: retried with back-off (5 s up to 10 min) for as long as it takes.
MAIL_TASK_OPTIONS = {
    "ignore_result": True,
    "acks_late": True,
    "autoretry_for": (OSError, smtplib.SMTPException),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": None,
}


@shared_task(name="notifications.email_event", **MAIL_TASK_OPTIONS)
def email_event(event_id: str) -> None:
    """The e-mail an event calls for; an SMTP server that is down makes it retry with back-off."""
    email.email_event_send(event_id=event_id)


@shared_task(name="notifications.email_endpoint_disabled", **MAIL_TASK_OPTIONS)
def email_endpoint_disabled(endpoint_id: str) -> None:
    email.endpoint_disabled_send(endpoint_id=endpoint_id)

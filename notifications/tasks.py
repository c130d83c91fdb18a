"""Thin Celery tasks for notifications."""

from celery import shared_task

from notifications import services, webhooks


@shared_task(name="notifications.events_purge", ignore_result=True)
def events_purge() -> None:
    services.events_purge()


@shared_task(name="notifications.webhook_deliver", ignore_result=True, acks_late=True)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt of one delivery; a retry comes back through the sweep when it is due."""
    webhooks.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="notifications.webhook_sweep", ignore_result=True)
def webhook_sweep() -> None:
    webhooks.deliveries_due()

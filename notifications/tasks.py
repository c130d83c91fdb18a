"""Thin Celery tasks for notifications."""

from celery import shared_task

from notifications import services


@shared_task(name="notifications.events_purge", ignore_result=True)
def events_purge() -> None:
    services.events_purge()

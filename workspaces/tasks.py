"""Thin Celery tasks for workspaces."""

from celery import shared_task

from workspaces import services


@shared_task(name="workspaces.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records() -> int:
    return services.idempotency_records_purge()

"""Thin Celery tasks: take ids, re-fetch, tolerate rows that have gone, call a service."""

from celery import shared_task

from domains import edge_sync

# --- Edge outbox ----------------------------------------------------------------


@shared_task(name="domains.edge_deliver", ignore_result=True)
def edge_deliver(outbox_id: int) -> None:
    """Deliver one outbox row right after its transaction committed; failures wait for the sweep."""
    edge_sync.edge_deliver(outbox_id=outbox_id)


@shared_task(name="domains.edge_sweep", ignore_result=True)
def edge_sweep() -> None:
    edge_sync.edge_sweep()


@shared_task(name="domains.edge_reconcile", ignore_result=True)
def edge_reconcile() -> None:
    edge_sync.edge_reconcile()

"""Thin Celery tasks: take ids, re-fetch, tolerate rows that have gone, call a service."""

from celery import shared_task
from django.conf import settings

from domains import services
from domains.edge import delivery, reconcile, shards
from domains.enqueue import enqueue_on_commit

# --- Edge outbox ----------------------------------------------------------------


@shared_task(name="domains.edge_deliver", ignore_result=True)
def edge_deliver(outbox_id: int) -> None:
    """Deliver one outbox row right after its transaction committed; failures wait for the sweep."""
    delivery.edge_deliver(outbox_id=outbox_id)


@shared_task(name="domains.edge_sweep", ignore_result=True)
def edge_sweep() -> None:
    delivery.edge_sweep()


@shared_task(name="domains.edge_shards_build", ignore_result=True, bind=True)
def edge_shards_build(self) -> None:
    """Build the dirty shards of the edge's host map and write the head.

    A shard built less than EDGE_SHARD_DEBOUNCE_SECONDS ago waits: this task
    comes back for it when its time comes (beat's periodic run catches the rest)."""
    report = shards.edge_shards_build()
    wait = report.retry_in
    if wait is not None and wait <= settings.EDGE_SHARD_DEBOUNCE_SECONDS and not self.request.is_eager:
        try:
            edge_shards_build.apply_async(countdown=wait, expires=wait + settings.EDGE_SHARD_SWEEP_PERIOD, retry=False)
        except Exception:  # noqa: BLE001 - a broker that is down leaves it to beat
            pass


@shared_task(name="domains.edge_reconcile", ignore_result=True)
def edge_reconcile() -> None:
    reconcile.edge_reconcile()


@shared_task(name="domains.edge_outbox_prune", ignore_result=True)
def edge_outbox_prune() -> int:
    return delivery.edge_outbox_prune()


# --- DNS checks -----------------------------------------------------------------


@shared_task(name="domains.dispatch_due_checks", ignore_result=True)
def dispatch_due_checks() -> int:
    """Beat's periodic entry point: claim what is due and queue it in batches for any worker."""
    queued = 0
    size = settings.DOMAIN_CHECK_BATCH_SIZE
    for _ in range(settings.DOMAIN_CHECK_MAX_BATCHES):
        ids = services.domain_checks_claim_due(limit=size)
        if ids:
            # A batch that cannot be queued keeps its claims until the lease
            # runs out, then the next dispatch claims it again.
            enqueue_on_commit(check_domains.name, [str(pk) for pk in ids], count=len(ids))
            queued += len(ids)
        if len(ids) < size:
            break
    return queued


@shared_task(name="domains.check_domains", ignore_result=True)
def check_domains(domain_ids: list[str]) -> None:
    """Check a batch the dispatcher claimed; rows deleted, unclaimed or off the schedule meanwhile are skipped."""
    services.domain_check_claimed(domain_ids=domain_ids)


@shared_task(name="domains.check_domain_now", ignore_result=True)
def check_domain_now(domain_id: str, actor_kind: str, user_id: int | None, claimed_until: str) -> None:
    """A "Check now" queued by the web UI or the API (domain_check_queue), unless its claim has moved on."""
    services.domain_check_queued(
        domain_id=domain_id, actor_kind=actor_kind, user_id=user_id, claimed_until=claimed_until
    )


@shared_task(name="domains.check_domain", ignore_result=True)
def check_domain(domain_id: str) -> None:
    """Check one domain now (queued right after it is added), unless another worker already is."""
    if services.domain_check_claim(domain_id=domain_id):
        services.domain_check_claimed(domain_ids=[domain_id])


# --- CloudFront tenants (HTTPS) ------------------------------------------------------


@shared_task(name="domains.cdn_step", ignore_result=True)
def cdn_step(tenant_row_id: int) -> None:
    """Converge one domain's CloudFront tenant right after its goal changed; whatever fails waits for the sweep."""
    services.cdn_step(tenant_row_id=tenant_row_id)


@shared_task(name="domains.cdn_sweep", ignore_result=True)
def cdn_sweep() -> int:
    """Beat's periodic run: certificate polls, retries after errors, and steps a crash or a lost task left."""
    return services.cdn_sweep()

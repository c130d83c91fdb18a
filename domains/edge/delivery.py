"""Carry the edge outbox to DynamoDB: deliver a row, a burst, the periodic sweep, and prune old rows.

The database is the source of truth. Each EdgeOutbox row is one versioned
change; delivering it is a conditional write that only lands where the stored
version is older, so rows may be delivered late, twice, or out of order.
A row that cannot be delivered stays in the outbox with a back-off and the
periodic sweep tries again: a down Redis or DynamoDB delays, never loses.

Threads only ever talk to DynamoDB; every database read and write happens on
the calling thread, so the pools work the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from domains.edge import store
from domains.edge.store import EdgeStoreError, EdgeStoreUnavailable, WriteResult
from domains.models import EdgeOutbox

logger = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    written: int = 0
    superseded: int = 0  # a newer version was already stored: delivered all the same
    failed: int = 0
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def delivered(self) -> int:
        return self.written + self.superseded

    def add(self, other: DeliveryReport) -> None:
        self.written += other.written
        self.superseded += other.superseded
        self.failed += other.failed
        self.errors.update(other.errors)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off with jitter after `attempts` failed deliveries."""
    base = settings.EDGE_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    seconds = min(settings.EDGE_RETRY_MAX_SECONDS, base)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def _write(row: EdgeOutbox) -> WriteResult | Exception:
    """The DynamoDB half of a delivery; runs on a pool thread, so no database access here."""
    try:
        return store.put_item(
            hostname=row.hostname, workspace_id=row.workspace_public_id, version=row.version, state=row.state
        )
    except (EdgeStoreUnavailable, EdgeStoreError) as exc:
        return exc


def _record(rows: list[EdgeOutbox], results: list[WriteResult | Exception]) -> DeliveryReport:
    """The database half: mark what landed, and give what did not its next attempt time."""
    report = DeliveryReport()
    now = timezone.now()
    delivered_ids = []
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, Exception):
            report.failed += 1
            report.errors[row.pk] = str(result)
            attempts = row.attempts + 1
            # Only while still undelivered: a concurrent delivery may have landed it.
            EdgeOutbox.objects.filter(pk=row.pk, delivered_at__isnull=True).update(
                attempts=F("attempts") + 1,
                last_error=f"{type(result).__name__}: {result}"[:500],
                next_attempt_at=now + retry_delay(attempts),
            )
            level = logging.WARNING if isinstance(result, EdgeStoreUnavailable) else logging.ERROR
            logger.log(
                level,
                "edge delivery failed; will retry",
                extra={"host": row.hostname, "version": row.version, "attempts": attempts, "error": str(result)},
            )
        else:
            if result is WriteResult.WRITTEN:
                report.written += 1
            else:
                report.superseded += 1
            delivered_ids.append(row.pk)
    for start in range(0, len(delivered_ids), 500):
        EdgeOutbox.objects.filter(pk__in=delivered_ids[start : start + 500], delivered_at__isnull=True).update(
            delivered_at=now, attempts=F("attempts") + 1, last_error="", next_attempt_at=None
        )
    return report


def edge_deliver(*, outbox_id: int) -> DeliveryReport:
    """Deliver one outbox row; a row that is gone or already delivered is left alone."""
    row = EdgeOutbox.objects.filter(pk=outbox_id, delivered_at__isnull=True).first()
    if row is None:
        return DeliveryReport()
    report = _record([row], [_write(row)])
    if report.delivered:
        logger.info("edge delivered", extra={"host": row.hostname, "version": row.version, "state": row.state})
    return report


def edge_deliver_many(*, rows: Iterable[EdgeOutbox], workers: int | None = None) -> DeliveryReport:
    """Deliver a burst of rows with a bounded thread pool; each write is still conditional."""
    rows = list(rows)
    if not rows:
        return DeliveryReport()
    workers = max(1, min(workers or settings.EDGE_DELIVERY_WORKERS, len(rows)))
    if workers == 1:
        results = [_write(row) for row in rows]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="edge-deliver") as pool:
            results = list(pool.map(_write, rows))
    return _record(rows, results)


def _due_rows(*, now, grace: timedelta, limit: int) -> list[EdgeOutbox]:
    fresh_cutoff = now - grace
    return list(
        EdgeOutbox.objects.filter(delivered_at__isnull=True)
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=fresh_cutoff))
        .order_by("id")[:limit]
    )


def edge_sweep(*, grace_seconds: float | None = None, limit: int | None = None) -> DeliveryReport:
    """Re-deliver undelivered rows whose next attempt is due.

    Rows younger than the grace period without an attempt yet are left to
    their after-commit task. Only the newest row per hostname is written; the
    older ones are obsolete once it lands and are marked delivered with it.
    """
    now = timezone.now()
    grace = timedelta(seconds=settings.EDGE_SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds)
    rows = _due_rows(now=now, grace=grace, limit=limit or settings.EDGE_SWEEP_BATCH)
    if not rows:
        return DeliveryReport()
    newest: dict[str, EdgeOutbox] = {}
    for row in rows:
        if row.hostname not in newest or row.version > newest[row.hostname].version:
            newest[row.hostname] = row
    report = edge_deliver_many(rows=newest.values())
    # Older undelivered rows of a hostname whose newer row landed: nothing left to say.
    landed = {row.hostname: row.version for row in newest.values() if row.pk not in report.errors}
    obsolete = [
        row.pk for row in rows if row is not newest[row.hostname] and row.version <= landed.get(row.hostname, -1)
    ]
    for start in range(0, len(obsolete), 500):
        EdgeOutbox.objects.filter(pk__in=obsolete[start : start + 500], delivered_at__isnull=True).update(
            delivered_at=now, last_error="", next_attempt_at=None
        )
    report.superseded += len(obsolete)
    logger.info(
        "edge sweep", extra={"written": report.written, "superseded": report.superseded, "failed": report.failed}
    )
    return report


def edge_outbox_prune(*, older_than_days: float | None = None) -> int:
    """Delete delivered rows older than the retention that a newer row of their hostname supersedes.

    The newest row of each hostname stays: it is what the edge state shown to
    people and staff is read from. Undelivered rows are never deleted.
    """
    days = settings.EDGE_OUTBOX_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    newer = EdgeOutbox.objects.filter(hostname=OuterRef("hostname"), version__gt=OuterRef("version"))
    deleted, _ = EdgeOutbox.objects.filter(Exists(newer), delivered_at__lt=cutoff).delete()
    logger.info("edge outbox pruned", extra={"deleted": deleted, "older_than_days": days})
    return deleted

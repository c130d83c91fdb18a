"""Carry the edge outbox to DynamoDB, and repair any drift between the two.

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
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from domains import edge_store
from domains.edge_store import EdgeStoreError, EdgeStoreUnavailable, WriteResult
from domains.models import (
    SERVABLE_STATUSES,
    Domain,
    EdgeOutbox,
    EdgeState,
    next_edge_version,
)

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
        return edge_store.put_item(
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


# --- Reconciler -----------------------------------------------------------------


@dataclass
class ReconcileReport:
    scanned: int = 0
    expected: int = 0
    in_sync: int = 0
    missing: int = 0  # servable in the database, absent (or only a tombstone) in the table
    stale: int = 0  # present with an older version or the wrong workspace
    extra: int = 0  # served by the table but not servable in the database: tombstoned
    bumped: int = 0  # versions raised in the database so the repair can win its condition
    written: int = 0
    superseded: int = 0
    failed: int = 0
    dry_run: bool = False
    scan_seconds: float = 0.0
    db_seconds: float = 0.0
    seconds: float = 0.0
    samples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def drift(self) -> int:
        return self.missing + self.stale + self.extra

    def as_dict(self) -> dict:
        data = asdict(self)
        data["drift"] = self.drift
        return data

    def summary(self) -> str:
        return (
            f"scanned {self.scanned} items, expected {self.expected}; in sync {self.in_sync}; "
            f"missing {self.missing}, stale {self.stale}, extra {self.extra}"
            + ("" if self.dry_run else f"; written {self.written}, superseded {self.superseded}, failed {self.failed}")
            + f" ({self.seconds:.1f}s{', dry run' if self.dry_run else ''})"
        )


def expected_items() -> dict[str, tuple[str, int]]:
    """hostname → (workspace public id, edge version) for every servable domain, in one query."""
    rows = (
        Domain.objects.filter(status__in=SERVABLE_STATUSES)
        .values_list("hostname", "workspace__public_id", "edge_version")
        .order_by()
        .iterator(chunk_size=5000)
    )
    return {hostname: (workspace_id, version) for hostname, workspace_id, version in rows}


def _bump_and_enqueue(hostname: str, *, above: int) -> EdgeOutbox | None:
    """Raise the domain's edge version past `above` and write its current edge state to the outbox."""
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("workspace").filter(hostname=hostname).first()
        if domain is None:
            return None
        domain.edge_version = next_edge_version(max(domain.edge_version, above))
        Domain.objects.filter(pk=domain.pk).update(edge_version=domain.edge_version)
        return EdgeOutbox.objects.create(
            hostname=domain.hostname,
            workspace_public_id=domain.workspace.public_id,
            version=domain.edge_version,
            state=EdgeState.SERVE if domain.is_servable else EdgeState.GONE,
        )


def edge_reconcile(
    *, dry_run: bool = False, segments: int | None = None, workers: int | None = None
) -> ReconcileReport:
    """Compare the whole table with the servable domains and repair drift through the outbox.

    The table is scanned before the database is read, so the database side is
    never the older of the two: a domain that changes during the scan already
    has a newer outbox row that beats (or follows) any repair written here.
    """
    started = time.monotonic()
    report = ReconcileReport(dry_run=dry_run)
    table: dict[str, edge_store.EdgeItem] = {}
    for item in edge_store.scan_items(segments=segments):
        table[item.host] = item
    report.scanned = len(table)
    report.scan_seconds = time.monotonic() - started

    db_started = time.monotonic()
    expected = expected_items()
    report.expected = len(expected)

    direct: list[EdgeOutbox] = []  # repairs the database's current version already wins
    bumps: list[tuple[str, int]] = []  # repairs that need a higher version first
    samples: dict[str, list[str]] = {"missing": [], "stale": [], "extra": []}

    def note(kind: str, host: str) -> None:
        setattr(report, kind, getattr(report, kind) + 1)
        if len(samples[kind]) < 20:
            samples[kind].append(host)

    for host, (workspace_id, version) in expected.items():
        item = table.get(host)
        if item is not None and item.state == edge_store.STATE_SERVE and item.workspace_id == workspace_id:
            if item.version >= version:
                report.in_sync += 1
                continue
            note("stale", host)
        elif item is None or item.state != edge_store.STATE_SERVE:
            note("missing", host)
        else:
            note("stale", host)
        above = item.version if item is not None else 0
        if version > above:
            direct.append(
                EdgeOutbox(hostname=host, workspace_public_id=workspace_id, version=version, state=EdgeState.SERVE)
            )
        else:
            bumps.append((host, above))

    served_extras = [h for h, item in table.items() if item.state == edge_store.STATE_SERVE and h not in expected]
    if served_extras:
        known: dict[str, tuple[str, int]] = {}
        for start in range(0, len(served_extras), 500):
            chunk = served_extras[start : start + 500]
            known.update(
                (h, (ws, v))
                for h, ws, v in Domain.objects.filter(hostname__in=chunk)
                .values_list("hostname", "workspace__public_id", "edge_version")
                .order_by()
            )
        for host in served_extras:
            note("extra", host)
            item = table[host]
            if host in known:
                workspace_id, version = known[host]
                if version > item.version:
                    direct.append(
                        EdgeOutbox(
                            hostname=host, workspace_public_id=workspace_id, version=version, state=EdgeState.GONE
                        )
                    )
                else:
                    bumps.append((host, item.version))
            else:
                # No domain at all. One more than the stored version is enough, and any
                # domain added for this hostname later gets a (time-based) higher one.
                direct.append(
                    EdgeOutbox(
                        hostname=host,
                        workspace_public_id=item.workspace_id,
                        version=item.version + 1,
                        state=EdgeState.GONE,
                    )
                )
    report.db_seconds = time.monotonic() - db_started
    report.samples = {k: v for k, v in samples.items() if v}

    if not dry_run and (direct or bumps):
        # SQLite (3.35+) and PostgreSQL both return the new ids from a bulk insert.
        rows = EdgeOutbox.objects.bulk_create(direct, batch_size=1000)
        for host, above in bumps:
            row = _bump_and_enqueue(host, above=above)
            if row is not None:
                report.bumped += 1
                rows.append(row)
        delivery = edge_deliver_many(rows=rows, workers=workers)
        report.written, report.superseded, report.failed = delivery.written, delivery.superseded, delivery.failed

    report.seconds = time.monotonic() - started
    level = logging.WARNING if report.drift else logging.INFO
    logger.log(
        level,
        "edge reconcile",
        extra={k: v for k, v in report.as_dict().items() if k != "samples"},
    )
    return report

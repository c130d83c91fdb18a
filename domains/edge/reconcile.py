"""Compare the whole edge table with the database and repair any drift through the outbox."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from django.db import transaction

from domains.edge import store
from domains.edge.delivery import edge_deliver_many
from domains.edge.outbox import edge_change_record
from domains.edge.states import EdgeState
from domains.models import SERVABLE_STATUSES, Domain, EdgeOutbox

logger = logging.getLogger(__name__)


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


def _bump_and_record(hostname: str, *, above: int) -> EdgeOutbox | None:
    """Record the domain's current edge state again with a version past `above` (delivered by the caller)."""
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("workspace").filter(hostname=hostname).first()
        if domain is None:
            return None
        return edge_change_record(domain=domain, above=above, deliver=False)


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
    table: dict[str, store.EdgeItem] = {}
    for item in store.scan_items(segments=segments):
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
        if item is not None and item.state == EdgeState.SERVE and item.workspace_id == workspace_id:
            if item.version >= version:
                report.in_sync += 1
                continue
            note("stale", host)
        elif item is None or item.state != EdgeState.SERVE:
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

    served_extras = [h for h, item in table.items() if item.state == EdgeState.SERVE and h not in expected]
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
            row = _bump_and_record(host, above=above)
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

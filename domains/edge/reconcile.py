"""Compare the whole edge table with the database and repair any drift through the outbox."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from django.db import transaction

from domains.edge import store
from domains.edge.delivery import edge_deliver_many
from domains.edge.outbox import edge_change_record
from domains.edge.shards import edge_shards_reconcile
from domains.edge.states import EdgeState
from domains.models import SERVABLE_STATUSES, Domain, EdgeOutbox, Hostname

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
    shards: dict = field(default_factory=dict)  # the shard items compared too (domains.edge.shards)

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
    """hostname → (workspace public id, edge version) for every servable domain, in one query.

    Only a domain that proved its hostname is servable, and a constraint allows
    one per hostname, so other workspaces' claims never appear here. The proven
    domain's edge_version is its hostname's current version (edge_change_record
    keeps them equal while it is served).
    """
    rows = (
        Domain.objects.filter(status__in=SERVABLE_STATUSES)
        .values_list("hostname", "workspace__public_id", "edge_version")
        .order_by()
        .iterator(chunk_size=5000)
    )
    return {hostname: (workspace_id, version) for hostname, workspace_id, version in rows}


def _bump_and_record(hostname: str, *, above: int, workspace_public_id: str = "") -> EdgeOutbox:
    """Record the hostname's current edge state again with a version past `above` (delivered by the caller).

    Through edge_change_record, like every change, so the hostname's version
    row grows too and any domain added for it later gets a higher version.
    `workspace_public_id` is what a tombstone names when no domain is served.
    """
    with transaction.atomic():
        return edge_change_record(
            hostname=hostname, workspace_public_id=workspace_public_id, above=above, deliver=False
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
        # The hostname's own version: its newest recorded change, a tombstone now that nothing is served.
        known: dict[str, int] = {}
        for start in range(0, len(served_extras), 500):
            chunk = served_extras[start : start + 500]
            known.update(Hostname.objects.filter(hostname__in=chunk).values_list("hostname", "edge_version").order_by())
        for host in served_extras:
            note("extra", host)
            item = table[host]
            if known.get(host, 0) > item.version:
                direct.append(
                    EdgeOutbox(
                        hostname=host,
                        workspace_public_id=item.workspace_id,
                        version=known[host],
                        state=EdgeState.GONE,
                    )
                )
            else:
                # Including a hostname the database never held: its version row starts past the item's.
                bumps.append((host, item.version))
    report.db_seconds = time.monotonic() - db_started
    report.samples = {k: v for k, v in samples.items() if v}

    if not dry_run and (direct or bumps):
        # SQLite (3.35+) and PostgreSQL both return the new ids from a bulk insert.
        rows = EdgeOutbox.objects.bulk_create(direct, batch_size=1000)
        for host, above in bumps:
            item = table.get(host)
            rows.append(_bump_and_record(host, above=above, workspace_public_id=item.workspace_id if item else ""))
            report.bumped += 1
        delivery = edge_deliver_many(rows=rows, workers=workers)
        report.written, report.superseded, report.failed = delivery.written, delivery.superseded, delivery.failed

    report.shards = edge_shards_reconcile(table=table, expected=expected, dry_run=dry_run).as_dict()
    report.seconds = time.monotonic() - started
    level = logging.WARNING if report.drift else logging.INFO
    logger.log(
        level,
        "edge reconcile",
        extra={k: v for k, v in report.as_dict().items() if k != "samples"},
    )
    return report

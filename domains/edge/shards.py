"""The edge's host map in shards: marked dirty with each change, built from the database, written with the head.

The same DynamoDB table that holds one item per hostname also holds K shard
items (``#shard#<K>#<k>``), each the compressed map hostname → workspace of
every servable hostname whose shard is k, and one head item listing K, every
shard's version and the recent changes (deltas). The shard function and the
formats are ``edge_function.shards``, imported from the edge function so both
sides always agree. The edge function loads a shard when a lookup needs it and
polls the head to refresh what it loaded (``edge_function.shard_cache``).

- ``edge_shard_mark_dirty`` runs inside the transaction of every change
  (``edge_change_record``) and inserts an EdgeShardMark, so no change can
  commit without its shard being due. An insert, never an update of a shared
  row: concurrent changes never wait on one another.
- ``edge_shards_build`` claims the dirty shards (at most one build per shard
  per ``EDGE_SHARD_DEBOUNCE_SECONDS``), reads their servable domains from the
  database (never from outbox rows), writes each shard conditionally on its
  version, then the head. What it wrote is kept on the EdgeShard row, so the
  next build can list the difference in the head and warm edges patch their
  copy instead of fetching the whole shard again.
- ``edge_shards_reconcile`` (called by the reconciler) compares the shards in
  the table with the database, repairs what differs, and removes shards of an
  old count.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from domains.edge import store
from domains.edge.delivery import retry_delay
from domains.edge.store import EdgeStoreError, EdgeStoreUnavailable, WriteResult
from domains.enqueue import enqueue_on_commit
from domains.models import SERVABLE_STATUSES, Domain, EdgeShard, EdgeShardHead, EdgeShardMark
from edge_function import shards as layout

logger = logging.getLogger(__name__)

BUILD_TASK = "domains.edge_shards_build"
# A build that dies between claiming a shard and recording its write is retried after this.
CLAIM_LEASE = timedelta(seconds=60)
# A build changing more hostnames than this publishes no delta: edges fetch the shard again.
MAX_DELTA_HOSTS = 200
# The head lists at most this many changed hostnames (newest builds first) and deltas per shard.
MAX_HEAD_DELTA_HOSTS = 2000
MAX_DELTAS_PER_SHARD = 32
# Shards of an old count are deleted only once the head has named the new count this long
# (every edge has polled it by then).
OLD_SHARDS_GRACE = timedelta(minutes=10)


def shard_count() -> int:
    return int(settings.EDGE_SHARD_COUNT)


def shard_key(index: int, count: int | None = None) -> str:
    return layout.shard_key(count or shard_count(), index)


# --- Marking ------------------------------------------------------------------------


def edge_shard_mark_dirty(*, hostname: str) -> None:
    """Inside the caller's transaction: the shard holding `hostname` must be built again; a build is queued after commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("mark a shard dirty inside the transaction that changes the domain")
    count = shard_count()
    value = layout.shard_hash(hostname)
    index = layout.shard_of_hash(value, count)
    Domain.objects.filter(hostname=hostname, edge_shard_hash__isnull=True).update(edge_shard_hash=value)
    EdgeShardMark.objects.create(count=count, index=index)
    enqueue_on_commit(BUILD_TASK, shard=index, count=count)


def _marked(count: int, up_to: int | None = None) -> set[int]:
    """The shards with a change no build has read yet (marks up to id `up_to`)."""
    marks = EdgeShardMark.objects.filter(count=count)
    if up_to is not None:
        marks = marks.filter(id__lte=up_to)
    return set(marks.values_list("index", flat=True).distinct().order_by())


def _create_rows(count: int, now: datetime) -> None:
    """Every shard row of `count` that is missing, dirty (a new count builds every shard)."""
    EdgeShard.objects.bulk_create(
        [EdgeShard(count=count, index=index, dirty_since=now) for index in range(count)],
        ignore_conflicts=True,
    )


# --- Building -----------------------------------------------------------------------


@dataclass
class ShardBuildReport:
    count: int = 0
    built: int = 0
    written: int = 0
    unchanged: int = 0  # rebuilt to the same content: nothing written
    superseded: int = 0
    failed: int = 0
    deltas: int = 0  # written with a delta the head lists
    head: str = ""  # written / superseded / failed / not ready (shards missing) / "" (not needed)
    retry_in: float | None = None  # seconds until the next dirty shard may be built
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Job:
    row: EdgeShard
    data: bytes
    digest: str
    hosts: int
    delta: list | None


def edge_shards_build(*, limit: int | None = None, head: bool = False) -> ShardBuildReport:
    """Build every due shard from the database, write it, then write the head (`head`: even if nothing changed)."""
    started = time.monotonic()
    count = shard_count()
    report = ShardBuildReport(count=count)
    now = timezone.now()
    if EdgeShard.objects.filter(count=count).count() < count:
        with transaction.atomic():
            _create_rows(count, now)
    claimed = _claim(count, now, limit)
    if claimed:
        _fill_missing_hashes()
        maps = _read_maps(count, [row.index for row in claimed])
        jobs: list[_Job] = []
        for row in claimed:
            job = _prepare(row, maps[row.index], now)
            if job is None:
                report.unchanged += 1
            else:
                jobs.append(job)
        report.built = len(claimed)
        results = _write_all(count, jobs)
        for job, result in zip(jobs, results, strict=True):
            _record(count, job, result, now, report)
    if report.written or head or _head_needed(count):
        report.head = _write_head(count, timezone.now())
    report.retry_in = _next_due_in(count)
    report.seconds = round(time.monotonic() - started, 3)
    if report.built or report.head:
        level = logging.WARNING if report.failed or report.head == "failed" else logging.INFO
        logger.log(level, "edge shards built", extra={k: v for k, v in report.as_dict().items() if k != "errors"})
    return report


def _claim(count: int, now: datetime, limit: int | None) -> list[EdgeShard]:
    """Take the due shards: each gets the next version and stops being due (a change from now on marks it again).

    The marks a claim has seen are deleted with it; a mark still uncommitted is
    invisible to that delete and stays, for the next build."""
    last = EdgeShardMark.objects.filter(count=count).aggregate(last=Max("id"))["last"]
    marked = _marked(count, last) if last is not None else set()
    due = (
        Q(index__in=marked)
        | Q(dirty_since__isnull=False)
        | Q(version__gt=F("written_version"), claimed_at__lte=now - CLAIM_LEASE)
    )
    ready = Q(next_build_at__isnull=True) | Q(next_build_at__lte=now)
    debounce = timedelta(seconds=settings.EDGE_SHARD_DEBOUNCE_SECONDS)
    with transaction.atomic():
        rows = list(
            EdgeShard.objects.select_for_update(skip_locked=True)
            .filter(count=count)
            .filter(due, ready)
            .order_by("index")[: limit or count]
        )
        for row in rows:
            row.settled = row.version == row.written_version  # no write of ours is unaccounted for
            row.version = max(row.version, row.written_version) + 1
            row.dirty_since = None
            row.claimed_at = now
            row.next_build_at = now + debounce
        EdgeShard.objects.bulk_update(rows, ["version", "dirty_since", "claimed_at", "next_build_at"])
        if rows and last is not None:
            EdgeShardMark.objects.filter(count=count, index__in=[row.index for row in rows], id__lte=last).delete()
    return rows


def _fill_missing_hashes() -> None:
    """Domains created without passing through the marking (bulk inserts) get their hash now."""
    while True:
        missing = list(Domain.objects.filter(edge_shard_hash__isnull=True).values_list("pk", "hostname")[:2000])
        if not missing:
            return
        Domain.objects.bulk_update(
            [Domain(pk=pk, edge_shard_hash=layout.shard_hash(hostname)) for pk, hostname in missing],
            ["edge_shard_hash"],
            batch_size=500,
        )


def _read_maps(count: int, indices: list[int]) -> dict[int, dict[str, str]]:
    """hostname → workspace of every servable domain in the given shards (a range of the hash each)."""
    maps: dict[int, dict[str, str]] = {index: {} for index in indices}
    query = Domain.objects.filter(status__in=SERVABLE_STATUSES)
    if len(indices) < count:
        ranges = Q()
        for index in indices:
            low, high = layout.shard_hash_range(index, count)
            ranges |= Q(edge_shard_hash__gte=low, edge_shard_hash__lt=high)
        query = query.filter(ranges)
    rows = query.values_list("hostname", "workspace__public_id", "edge_shard_hash").order_by().iterator(5000)
    for hostname, workspace_id, value in rows:
        mapping = maps.get(layout.shard_of_hash(value, count))
        if mapping is not None:
            mapping[hostname] = workspace_id
    return maps


def _prepare(row: EdgeShard, mapping: dict[str, str], now: datetime) -> _Job | None:
    """What to write for a claimed shard, or None when it holds exactly what DynamoDB already has."""
    data, digest = layout.encode_shard(mapping)
    if row.settled and row.written_version and digest == row.digest:
        # Give the version back unless another build has claimed a newer one meanwhile.
        EdgeShard.objects.filter(pk=row.pk, version=row.version).update(version=F("written_version"))
        return None
    delta = None
    if row.written_version and row.content:
        previous = layout.decode_shard(bytes(row.content))
        changes = {host: workspace for host, workspace in mapping.items() if previous.get(host) != workspace}
        changes.update((host, "") for host in previous if host not in mapping)
        if len(changes) <= MAX_DELTA_HOSTS:
            delta = [row.written_version, row.version, now.timestamp(), changes]
    return _Job(row, data, digest, len(mapping), delta)


def _write_all(count: int, jobs: list[_Job]) -> list[WriteResult | Exception]:
    """Write the shards on a few threads (they only talk to DynamoDB)."""

    def write(job: _Job) -> WriteResult | Exception:
        try:
            return store.put_shard(
                key=layout.shard_key(count, job.row.index),
                count=count,
                index=job.row.index,
                version=job.row.version,
                data=job.data,
                digest=job.digest,
                hosts=job.hosts,
            )
        except (EdgeStoreUnavailable, EdgeStoreError) as exc:
            return exc

    if len(jobs) <= 1:
        return [write(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(8, len(jobs)), thread_name_prefix="edge-shards") as pool:
        return list(pool.map(write, jobs))


def _record(count: int, job: _Job, result, now: datetime, report: ShardBuildReport) -> None:
    row = job.row
    if isinstance(result, Exception):
        _failed(row, result, now, report)
        return
    if result is WriteResult.WRITTEN:
        deltas = _recent([*row.deltas, job.delta] if job.delta else list(row.deltas), now)
        EdgeShard.objects.filter(pk=row.pk, written_version__lt=row.version).update(
            written_version=row.version,
            content=job.data,
            digest=job.digest,
            hosts=job.hosts,
            size=len(job.data),
            deltas=deltas,
            written_at=now,
            attempts=0,
            last_error="",
        )
        report.written += 1
        report.deltas += job.delta is not None
        return
    # The stored shard is this version or newer. Ours (a later build of this database) is fine;
    # a newer one from elsewhere (a restored database, another deployment) must be overtaken.
    report.superseded += 1
    try:
        stored = store.stored_version(layout.shard_key(count, row.index))
    except (EdgeStoreUnavailable, EdgeStoreError) as exc:
        _failed(row, exc, now, report)
        return
    if stored is not None:
        EdgeShard.objects.filter(pk=row.pk, version__lt=stored).update(
            version=stored, dirty_since=now, next_build_at=None, content=b"", digest=""
        )


def _failed(row: EdgeShard, error: Exception, now: datetime, report: ShardBuildReport) -> None:
    report.failed += 1
    report.errors[row.index] = str(error)
    EdgeShard.objects.filter(pk=row.pk).update(
        dirty_since=Coalesce(F("dirty_since"), Value(now)),
        next_build_at=now + retry_delay(row.attempts + 1),
        attempts=F("attempts") + 1,
        last_error=f"{type(error).__name__}: {error}"[:500],
    )


def _recent(deltas: list, now: datetime) -> list:
    cutoff = now.timestamp() - settings.EDGE_SHARD_DELTA_SECONDS
    return [delta for delta in deltas if delta[2] >= cutoff][-MAX_DELTAS_PER_SHARD:]


def _head_needed(count: int) -> bool:
    row = EdgeShardHead.objects.filter(pk=1).values_list("dirty", "count").first()
    return row is None or row[0] or row[1] != count


def _write_head(count: int, now: datetime) -> str:
    """Write the head from the shard rows: only once every shard of `count` has been written."""
    if EdgeShard.objects.filter(count=count, written_version__gt=0).count() < count:
        return "not ready"
    try:
        EdgeShardHead.objects.get_or_create(pk=1)
    except IntegrityError:  # created concurrently
        pass
    with transaction.atomic():
        head = EdgeShardHead.objects.select_for_update().get(pk=1)
        head.version = max(head.version, head.written_version) + 1
        head.dirty = False
        head.save(update_fields=["version", "dirty"])
        rows = list(
            EdgeShard.objects.filter(count=count).order_by("index").values_list("index", "written_version", "deltas")
        )
    versions = [written for _, written, _ in rows]
    data = layout.encode_head(count, versions, _head_deltas(rows, now))
    try:
        result = store.put_head(key=layout.HEAD_KEY, count=count, version=head.version, data=data)
        if result is WriteResult.SUPERSEDED:
            stored = store.stored_version(layout.HEAD_KEY) or 0
            # A head from elsewhere with a higher version: go past it next time.
            EdgeShardHead.objects.filter(pk=1, version__lt=stored).update(version=stored, dirty=True)
            return "superseded"
    except (EdgeStoreUnavailable, EdgeStoreError) as exc:
        EdgeShardHead.objects.filter(pk=1).update(dirty=True, last_error=f"{type(exc).__name__}: {exc}"[:500])
        return "failed"
    EdgeShardHead.objects.filter(pk=1, written_version__lt=head.version).exclude(count=count).update(count_since=now)
    EdgeShardHead.objects.filter(pk=1, written_version__lt=head.version).update(
        written_version=head.version, count=count, written_at=now, last_error=""
    )
    return "written"


def _head_deltas(rows: list[tuple[int, int, list]], now: datetime) -> list[layout.Delta]:
    """The recent deltas of every shard, newest first, within the head's budget of hostnames."""
    cutoff = now.timestamp() - settings.EDGE_SHARD_DELTA_SECONDS
    candidates = sorted(
        ((delta[2], index, delta) for index, written, deltas in rows for delta in deltas if delta[1] <= written),
        key=lambda entry: entry[0],
        reverse=True,
    )
    chosen: list[layout.Delta] = []
    hosts = 0
    for stamp, index, (start, end, _stamp, changes) in candidates:
        if stamp < cutoff or hosts + len(changes) > MAX_HEAD_DELTA_HOSTS:
            break
        hosts += len(changes)
        chosen.append((index, start, end, changes))
    return chosen


def _next_due_in(count: int) -> float | None:
    """Seconds until the next dirty shard may be built (0: now), or None when none is dirty."""
    rows = EdgeShard.objects.filter(count=count).filter(Q(dirty_since__isnull=False) | Q(index__in=_marked(count)))
    if not rows.exists():
        return None
    if rows.filter(next_build_at__isnull=True).exists():
        return 0.0
    earliest = rows.aggregate(at=Min("next_build_at"))["at"]
    return max(0.0, (earliest - timezone.now()).total_seconds())


# --- What the edge sees for one hostname (the admin) ----------------------------------


def edge_shard_status(hostname: str) -> dict:
    """The hostname's shard: index, versions (database and live), and whether the live shard holds it."""
    count = shard_count()
    index = layout.shard_of(hostname, count)
    key = layout.shard_key(count, index)
    row = EdgeShard.objects.filter(count=count, index=index).first()
    status = {
        "count": count,
        "index": index,
        "key": key,
        "written_version": row.written_version if row else None,
        "pending": bool(
            row is None
            or row.dirty_since
            or row.version > row.written_version
            or EdgeShardMark.objects.filter(count=count, index=index).exists()
        ),
        "last_error": row.last_error if row else "",
        "live_version": None,
        "live_hosts": None,
        "in_shard": None,
        "live_workspace_id": None,
        "error": "",
    }
    try:
        raw = store.get_raw(key)
        if raw is not None:
            shard = layout.shard_from_item(raw)
            status.update(
                live_version=shard.version,
                live_hosts=len(shard.mapping),
                in_shard=hostname in shard.mapping,
                live_workspace_id=shard.mapping.get(hostname),
            )
    except Exception as exc:  # any endpoint trouble is shown, never raised to a page
        status["error"] = f"{type(exc).__name__}: {exc}"
    return status


# --- Reconciling ------------------------------------------------------------------------


@dataclass
class ShardReconcileReport:
    count: int = 0
    checked: int = 0
    in_sync: int = 0
    missing: int = 0  # no item for a shard of the current count
    stale: int = 0  # an item whose content differs from what the database says
    building: int = 0  # dirty or being written: left to the build
    head_stale: bool = False  # no head, or one naming another count or older versions
    extra: int = 0  # items of another count (or beyond it)
    deleted: int = 0
    repaired: bool = False
    build: dict = field(default_factory=dict)
    samples: list[int] = field(default_factory=list)

    @property
    def drift(self) -> int:
        return self.missing + self.stale + self.extra + int(self.head_stale)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["drift"] = self.drift
        return data


def edge_shards_reconcile(
    *, table: dict[str, store.EdgeItem], expected: dict[str, tuple[str, int]], dry_run: bool = False
) -> ShardReconcileReport:
    """Compare the shard items of a table scan with the servable domains (hostname → (workspace, version)).

    A shard whose content differs is rebuilt without a delta (the edges' copies
    cannot be trusted as a base); the head is rewritten when it is missing or
    names another count; shards of an old count are deleted once the head has
    named the new one for a while. The scan is older than the database read,
    so a shard that is dirty or being written is left to its build.
    """
    count = shard_count()
    report = ShardReconcileReport(count=count)
    maps: list[dict[str, str]] = [{} for _ in range(count)]
    for hostname, (workspace_id, _version) in expected.items():
        maps[layout.shard_of(hostname, count)][hostname] = workspace_id
    rows = {row.index: row for row in EdgeShard.objects.filter(count=count)}
    marked = _marked(count)
    repair: list[int] = []
    for index in range(count):
        report.checked += 1
        row = rows.get(index)
        if index in marked or (row is not None and (row.dirty_since or row.version > row.written_version)):
            report.building += 1
            continue
        item = table.get(layout.shard_key(count, index))
        digest = layout.digest_text(layout.canonical_text(maps[index]))
        if item is None:
            report.missing += 1
        elif item.digest != digest:
            report.stale += 1
        else:
            report.in_sync += 1
            continue
        repair.append(index)
    report.samples = repair[:20]

    head_item = table.get(layout.HEAD_KEY)
    head_row = EdgeShardHead.objects.filter(pk=1).first()
    report.head_stale = (
        head_item is None or head_row is None or head_row.count != count or head_item.version < head_row.written_version
    )
    extras = []
    for key in table:
        parsed = layout.parse_shard_key(key)
        if parsed is not None and (parsed[0] != count or parsed[1] >= count):
            extras.append(key)
    report.extra = len(extras)

    if dry_run:
        return report
    if repair:
        now = timezone.now()
        with transaction.atomic():
            _create_rows(count, now)
            EdgeShard.objects.filter(count=count, index__in=repair).update(
                dirty_since=now, next_build_at=None, content=b"", digest=""
            )
    if repair or report.head_stale:
        report.build = edge_shards_build(head=True).as_dict()
        report.repaired = True
    settled = (
        EdgeShardHead.objects.filter(pk=1, count=count, count_since__lte=timezone.now() - OLD_SHARDS_GRACE).exists()
        or EdgeShardHead.objects.filter(pk=1, count=count, count_since__isnull=True).exists()
    )
    if extras and settled:
        for key in extras:
            try:
                store.delete_item(key)
                report.deleted += 1
            except (EdgeStoreUnavailable, EdgeStoreError) as exc:
                logger.warning("could not delete an old shard", extra={"key": key, "error": str(exc)})
        EdgeShard.objects.exclude(count=count).delete()
        EdgeShardMark.objects.exclude(count=count).delete()
    return report

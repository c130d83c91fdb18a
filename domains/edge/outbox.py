"""The one place a change of what the edge should hold is recorded: bump the hostname's version, write the outbox row."""

from django.db import transaction

from domains.edge.shards import edge_shard_mark_dirty
from domains.edge.states import desired_state, next_edge_version
from domains.enqueue import enqueue_on_commit
from domains.models import SERVABLE_STATUSES, Domain, EdgeOutbox, Hostname

DELIVER_TASK = "domains.edge_deliver"


def edge_change_record(
    *,
    domain: Domain | None = None,
    hostname: str = "",
    workspace_public_id: str = "",
    deleted: bool = False,
    above: int = 0,
    deliver: bool = True,
) -> EdgeOutbox:
    """Record, inside the caller's transaction, what the edge should now hold for a hostname.

    `domain` is the domain that changed (with `deleted`, the one being deleted,
    which no longer counts). Without one, `hostname` names a hostname no domain
    may hold any more and `workspace_public_id` the workspace its tombstone names.

    What is recorded is the hostname's state, whoever asks: served for the
    workspace whose domain proved it (active or misconfigured; a constraint
    allows one), otherwise a tombstone. So a losing or deleted claim of another
    workspace can never unserve the proven one, and only the proven domain is
    ever written as served.

    The version is one more than the hostname's (its Hostname row, locked and
    bumped here, outlives every domain) and than `above` (a version already
    stored at the edge that this change must beat); no clock is involved. The
    served domain's edge_version becomes the new version. With `deliver`, a
    delivery task is queued once the transaction commits; the periodic sweep
    delivers it otherwise.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("edge_change_record must run inside the transaction that changes the domain")
    hostname = domain.hostname if domain is not None else hostname
    counter = Hostname.objects.lock(hostname)
    holder = _holder(hostname, changed=domain, deleted=deleted)
    version = next_edge_version(
        counter.edge_version,
        above,
        domain.edge_version if domain is not None else 0,
        holder.edge_version if holder is not None else 0,
    )
    Hostname.objects.filter(pk=hostname).update(edge_version=version)
    if holder is not None:
        holder.edge_version = version
        Domain.objects.filter(pk=holder.pk).update(edge_version=version)
        workspace_public_id = holder.workspace.public_id
    elif domain is not None:
        domain.edge_version = version
        if not deleted:
            Domain.objects.filter(pk=domain.pk).update(edge_version=version)
        workspace_public_id = domain.workspace.public_id
    row = EdgeOutbox.objects.create(
        hostname=hostname,
        workspace_public_id=workspace_public_id,
        version=version,
        state=desired_state(servable=holder is not None),
    )
    edge_shard_mark_dirty(hostname=hostname)  # the edge's host map: its shard is rebuilt from the database
    if deliver:
        enqueue_on_commit(DELIVER_TASK, row.pk, host=row.hostname, version=row.version)
    return row


def _holder(hostname: str, *, changed: Domain | None, deleted: bool) -> Domain | None:
    """The domain the edge should serve for `hostname` (the changed one's new status counts; a deleted one does not)."""
    if changed is not None and not deleted and changed.is_servable:
        return changed
    others = Domain.objects.filter(hostname=hostname, status__in=SERVABLE_STATUSES).select_related("workspace")
    if changed is not None:
        others = others.exclude(pk=changed.pk)
    return others.first()

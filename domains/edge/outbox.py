"""The one place a change of what the edge should hold is recorded: bump the version, write the outbox row."""

from django.db import transaction

from domains.edge.states import desired_state, next_edge_version
from domains.enqueue import enqueue_on_commit
from domains.models import Domain, EdgeOutbox

DELIVER_TASK = "domains.edge_deliver"


def edge_change_record(*, domain: Domain, deleted: bool = False, above: int = 0, deliver: bool = True) -> EdgeOutbox:
    """Record, inside the caller's transaction, what the edge should now hold for the domain's hostname.

    The domain's edge version grows past its own and past `above` (a version
    already stored at the edge that this change must beat). With `deliver`, a
    delivery task is queued once the transaction commits; the periodic sweep
    delivers it otherwise.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("edge_change_record must run inside the transaction that changes the domain")
    domain.edge_version = next_edge_version(max(domain.edge_version, above))
    if not deleted:
        Domain.objects.filter(pk=domain.pk).update(edge_version=domain.edge_version)
    row = EdgeOutbox.objects.create(
        hostname=domain.hostname,
        workspace_public_id=domain.workspace.public_id,
        version=domain.edge_version,
        state=desired_state(servable=domain.is_servable, deleted=deleted),
    )
    if deliver:
        enqueue_on_commit(DELIVER_TASK, row.pk, host=row.hostname, version=row.version)
    return row

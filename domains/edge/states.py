"""The edge's vocabulary: what an edge item says, and how far a change has got to the edge.

Pure (no models, no I/O), so the model layer, the DynamoDB wrapper and the
interfaces can all import it. No other module spells these values.
"""

from django.db import models


class EdgeState(models.TextChoices):
    """What one DynamoDB item tells the edge about its hostname."""

    SERVE = "serve", "Serve"
    GONE = "gone", "Gone"  # a tombstone: stop serving (expires by DynamoDB TTL)


class EdgeSync(models.TextChoices):
    """Whether the newest change of a hostname's edge state has reached the edge (UI, API and admin)."""

    SERVING = "serving", "Serving"
    NOT_SERVED = "not_served", "Not served"
    SYNCING = "syncing", "Syncing"
    SYNC_FAILED = "sync_failed", "Sync failed"


def desired_state(*, servable: bool, deleted: bool = False) -> EdgeState:
    """What the edge should hold for a domain: served while its status is servable, else a tombstone."""
    return EdgeState.SERVE if servable and not deleted else EdgeState.GONE


def sync_state(*, state: str | None, delivered: bool, attempts: int) -> EdgeSync:
    """Where the newest outbox change of a hostname stands (state None: the edge never heard of it).

    annotate_sync_state() in domains.edge.status says the same in SQL; a test
    proves the two agree.
    """
    if state is None:
        return EdgeSync.NOT_SERVED
    if delivered:
        return EdgeSync.SERVING if state == EdgeState.SERVE else EdgeSync.NOT_SERVED
    return EdgeSync.SYNC_FAILED if attempts else EdgeSync.SYNCING


def next_edge_version(*versions: int) -> int:
    """The version of a hostname's next edge change: one more than every version it must beat.

    A counter, never a clock: the callers pass the hostname's version (kept in
    its Hostname row, which outlives its domains and is bumped under that row's
    lock) and any version already stored at the edge, so versions strictly grow
    across deletion and re-adding however far apart the processes' clocks are.
    """
    return max(versions, default=0) + 1

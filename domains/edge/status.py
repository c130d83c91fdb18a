"""How far each domain's newest edge change has got, read from the outbox (no DynamoDB call)."""

from django.db.models import Case, CharField, OuterRef, QuerySet, Subquery, Value, When

from domains.edge.states import EdgeState, EdgeSync, desired_state, sync_state
from domains.models import Domain, EdgeOutbox


def _newest_outbox(field: str) -> Subquery:
    # The hostname's rows for this domain's workspace: another workspace's claim on the
    # same hostname never shows the edge state of the workspace that proved it.
    return Subquery(
        EdgeOutbox.objects.filter(hostname=OuterRef("hostname"), workspace_public_id=OuterRef("workspace__public_id"))
        .order_by("-version", "-id")
        .values(field)[:1]
    )


def annotate_edge_state(queryset: QuerySet[Domain]) -> QuerySet[Domain]:
    """Annotate each domain with `edge_state` (an EdgeSync value) from its newest outbox row, in the same query.

    A domain's rows are its hostname's rows that name its workspace.

    The SQL twin of states.sync_state(); a test proves they agree.
    """
    queryset = queryset.annotate(
        edge_outbox_state=_newest_outbox("state"),
        edge_outbox_delivered_at=_newest_outbox("delivered_at"),
        edge_outbox_attempts=_newest_outbox("attempts"),
    )
    return queryset.annotate(
        edge_state=Case(
            When(edge_outbox_state__isnull=True, then=Value(EdgeSync.NOT_SERVED.value)),
            When(
                edge_outbox_delivered_at__isnull=False,
                edge_outbox_state=EdgeState.SERVE.value,
                then=Value(EdgeSync.SERVING.value),
            ),
            When(edge_outbox_delivered_at__isnull=False, then=Value(EdgeSync.NOT_SERVED.value)),
            When(edge_outbox_attempts__gt=0, then=Value(EdgeSync.SYNC_FAILED.value)),
            default=Value(EdgeSync.SYNCING.value),
            output_field=CharField(),
        )
    )


def domain_edge_status(*, domain: Domain) -> dict:
    """What the edge should hold for one domain, and whether its newest change got there."""
    row = (
        EdgeOutbox.objects.filter(hostname=domain.hostname, workspace_public_id=domain.workspace.public_id)
        .order_by("-version", "-id")
        .first()
    )
    if row is None:
        state = sync_state(state=None, delivered=False, attempts=0)
    else:
        state = sync_state(state=row.state, delivered=row.delivered_at is not None, attempts=row.attempts)
    return {
        "state": state.value,
        "expected_item_state": expected_item_state(domain),
        "version": row.version if row else domain.edge_version,
        "edge_item_state": row.state if row else None,
        "delivered_at": row.delivered_at if row else None,
        "last_error": row.last_error if row else "",
        "attempts": row.attempts if row else 0,
        "next_attempt_at": row.next_attempt_at if row else None,
    }


def expected_item_state(domain: Domain) -> str | None:
    """The item state the edge table should hold for the domain; None when the edge never heard of it."""
    if not domain.is_servable and not domain.edge_version:
        return None
    return desired_state(servable=domain.is_servable).value

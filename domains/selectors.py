"""Reads shared by the web UI, the API and the admin, always scoped to a workspace."""

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from domains.models import Domain, DomainCheck, DomainEvent
from workspaces.models import Workspace


def domain_list(*, user: AbstractBaseUser, workspace: Workspace) -> QuerySet[Domain]:
    """The workspace's domains, or none when the user is not one of its members."""
    if not user.is_authenticated:
        return Domain.objects.none()
    return Domain.objects.filter(workspace=workspace, workspace__memberships__user=user).select_related("workspace")


def domain_get(*, user: AbstractBaseUser, workspace: Workspace, domain_id: uuid.UUID | str) -> Domain:
    """One of the workspace's domains; Domain.DoesNotExist for anything else, so callers answer 404."""
    try:
        return domain_list(user=user, workspace=workspace).get(pk=domain_id)
    except (ValueError, TypeError, ValidationError, Domain.DoesNotExist):  # a malformed id is just as unknown
        raise Domain.DoesNotExist from None


def domain_events(*, domain: Domain) -> QuerySet[DomainEvent]:
    return DomainEvent.objects.filter(domain=domain).select_related("actor_user").order_by("-created_at", "-id")


def domain_checks(*, domain: Domain) -> QuerySet[DomainCheck]:
    return DomainCheck.objects.filter(domain=domain).order_by("-checked_at", "-id")


def domain_last_check(*, domain: Domain) -> DomainCheck | None:
    return domain_checks(domain=domain).first()


# --- Edge sync state ------------------------------------------------------------

EDGE_SERVING = "serving"
EDGE_NOT_SERVED = "not_served"
EDGE_SYNCING = "syncing"
EDGE_SYNC_FAILED = "sync_failed"


def _newest_outbox(field: str):
    from django.db.models import OuterRef, Subquery

    from domains.models import EdgeOutbox

    return Subquery(
        EdgeOutbox.objects.filter(hostname=OuterRef("hostname")).order_by("-version", "-id").values(field)[:1]
    )


def annotate_edge_state(queryset: QuerySet[Domain]) -> QuerySet[Domain]:
    """Annotate each domain with `edge_state` from its newest outbox row, in the same query.

    serving: the newest change (serve) reached the edge; not_served: nothing
    served, or its tombstone landed; syncing: the newest change is on its way;
    sync_failed: delivering it failed at least once and is being retried.
    """
    from django.db.models import Case, CharField, Value, When

    queryset = queryset.annotate(
        edge_outbox_state=_newest_outbox("state"),
        edge_outbox_delivered_at=_newest_outbox("delivered_at"),
        edge_outbox_attempts=_newest_outbox("attempts"),
    )
    return queryset.annotate(
        edge_state=Case(
            When(edge_outbox_state__isnull=True, then=Value(EDGE_NOT_SERVED)),
            When(edge_outbox_delivered_at__isnull=False, edge_outbox_state="serve", then=Value(EDGE_SERVING)),
            When(edge_outbox_delivered_at__isnull=False, then=Value(EDGE_NOT_SERVED)),
            When(edge_outbox_attempts__gt=0, then=Value(EDGE_SYNC_FAILED)),
            default=Value(EDGE_SYNCING),
            output_field=CharField(),
        )
    )


def domain_edge_status(*, domain: Domain) -> dict:
    """What the edge should serve for one domain and whether it got there (no DynamoDB call)."""
    from domains.models import EdgeOutbox

    row = EdgeOutbox.objects.filter(hostname=domain.hostname).order_by("-version", "-id").first()
    if row is None:
        state = EDGE_NOT_SERVED
    elif row.delivered_at is not None:
        state = EDGE_SERVING if row.state == "serve" else EDGE_NOT_SERVED
    else:
        state = EDGE_SYNC_FAILED if row.attempts else EDGE_SYNCING
    return {
        "state": state,
        "version": row.version if row else domain.edge_version,
        "edge_item_state": row.state if row else None,
        "delivered_at": row.delivered_at if row else None,
        "last_error": row.last_error if row else "",
        "attempts": row.attempts if row else 0,
        "next_attempt_at": row.next_attempt_at if row else None,
    }

"""Reads shared by the web UI, the API and the admin, always scoped to a workspace.

The edge-state reads live with the edge (domains.edge.status) and are offered here too.
"""

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from domains.edge.status import annotate_edge_state, domain_edge_status
from domains.models import CdnTenant, Domain, DomainCheck, DomainEvent
from workspaces.models import Workspace

__all__ = [
    "annotate_edge_state",
    "domain_cdn_tenant",
    "domain_checks",
    "domain_edge_status",
    "domain_events",
    "domain_get",
    "domain_last_check",
    "domain_list",
]


def domain_list(*, user: AbstractBaseUser, workspace: Workspace) -> QuerySet[Domain]:
    """The workspace's domains, or none when the user is not one of its members."""
    if not user.is_authenticated:
        return Domain.objects.none()
    return Domain.objects.filter(workspace=workspace, workspace__memberships__user=user).select_related(
        "workspace", "cdn_tenant"
    )


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


def domain_cdn_tenant(*, domain: Domain) -> CdnTenant | None:
    """The domain's CloudFront tenant (HTTPS), or None while it has none."""
    try:
        return domain.cdn_tenant
    except CdnTenant.DoesNotExist:
        return None

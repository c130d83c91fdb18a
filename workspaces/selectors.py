"""Reads about who belongs where, and the workspace's API keys."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from workspaces.models import ApiKey, Membership, Workspace


def workspaces_for_user(user: AbstractBaseUser) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def api_keys_for(*, workspace: Workspace) -> QuerySet[ApiKey]:
    """The workspace's keys, newest first, active ones before revoked."""
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by").order_by("revoked_at", "-created_at")


def members_of(*, workspace: Workspace) -> list[Membership]:
    """The workspace's memberships, owners first, then admins and members, each by username."""
    order = {"owner": 0, "admin": 1, "member": 2}
    memberships = Membership.objects.filter(workspace=workspace).select_related("user")
    return sorted(memberships, key=lambda m: (order.get(m.role, 9), m.user.get_username().casefold()))

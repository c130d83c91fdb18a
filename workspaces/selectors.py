"""Reads about who belongs where."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from workspaces.models import Membership, Workspace


def workspaces_for_user(user: AbstractBaseUser) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def membership_for(*, user: AbstractBaseUser, workspace: Workspace) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, workspace=workspace).first()


def api_keys_for(*, workspace: Workspace):
    """The workspace's keys, newest first, active ones before revoked."""
    from workspaces.models import ApiKey

    return ApiKey.objects.filter(workspace=workspace).select_related("created_by").order_by("revoked_at", "-created_at")

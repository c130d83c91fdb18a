"""Reads about who belongs where, and the workspace's API keys."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from workspaces.models import ApiKey, Workspace


def workspaces_for_user(user: AbstractBaseUser) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def api_keys_for(*, workspace: Workspace) -> QuerySet[ApiKey]:
    """The workspace's keys, newest first, active ones before revoked."""
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by").order_by("revoked_at", "-created_at")

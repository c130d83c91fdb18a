"""The domains API's permission: the workspace the request acts in (see workspaces.api) and its role."""

from rest_framework import permissions

from workspaces.api import resolve_membership
from workspaces.roles import can_manage


class WorkspaceRole(permissions.BasePermission):
    """Members read; owners and admins also write. Sets view.membership and view.workspace."""

    message = "Only the workspace's owners and admins can change its domains."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        membership = resolve_membership(request)
        view.membership = membership
        view.workspace = membership.workspace
        return request.method in permissions.SAFE_METHODS or can_manage(membership)

"""Who may act: the one place a workspace role or a support-staff permission is checked."""

from django.contrib.auth.models import AbstractBaseUser

from workspaces.models import Membership, Workspace


class NotAllowed(Exception):
    """The acting user's role does not allow this action; the message is shown to them."""


def membership_of(*, user: AbstractBaseUser, workspace: Workspace) -> Membership | None:
    """The user's membership of the workspace, or None (anonymous users belong nowhere)."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, workspace=workspace).first()


def can_manage(membership: Membership | None) -> bool:
    """Owners and admins change a workspace's domains, keys and settings; members only read."""
    return membership is not None and membership.can_manage_domains


def require_manager(*, user: AbstractBaseUser, workspace: Workspace, action: str = "change its domains") -> Membership:
    """The user's membership when they are an owner or admin of the workspace; NotAllowed otherwise."""
    membership = membership_of(user=user, workspace=workspace)
    if membership is None:
        # Not a member at all: readers have already been answered 404.
        raise NotAllowed("You are not a member of this workspace.")
    if not can_manage(membership):
        raise NotAllowed(f"Only the workspace's owners and admins can {action}.")
    return membership


def is_support_staff(user: AbstractBaseUser, *, permission: str) -> bool:
    """An active staff account holding the model permission (e.g. "domains.change_domain")."""
    return bool(user.is_active and user.is_staff and user.has_perm(permission))


def require_support_staff(user: AbstractBaseUser, *, permission: str, action: str) -> None:
    """NotAllowed unless the user is support staff with `permission`; `action` completes the refusal."""
    if not is_support_staff(user, permission=permission):
        raise NotAllowed(f"Only support staff with permission to {action} can do this.")
